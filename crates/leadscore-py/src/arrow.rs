//! Tables across the Arrow C stream interface: any Python object with `__arrow_c_stream__`
//! (pyarrow, polars, pandas, DuckDB) in, a stream pyarrow or polars can read out, without going
//! through a file.

// The Arrow C stream interface is a C ABI: moving a stream out of a capsule and handing one to
// Python needs raw pointers. Each unsafe block says which contract it relies on.
#![allow(unsafe_code)]

use std::ffi::CStr;

use polars::prelude::{Column, CompatLevel, DataFrame, Series};
use polars_arrow::array::{Array, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field};
use polars_arrow::ffi::{ArrowArrayStream, ArrowArrayStreamReader, export_iterator};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

const STREAM: &CStr = c"arrow_array_stream";

/// Reads a Python table (anything with `__arrow_c_stream__`) into a data frame; `what` names
/// the argument in errors.
pub fn frame_from_python(table: &Bound<'_, PyAny>, what: &str) -> PyResult<DataFrame> {
    if !table.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "`{what}` must be a table with the Arrow stream interface (pyarrow, polars, pandas ≥ 2.2, DuckDB), a file path, or a pandas DataFrame; got {}",
            table.get_type().name()?
        )));
    }
    let capsule = table.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{what}`.__arrow_c_stream__() did not return a capsule"
        ))
    })?;
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: a capsule named "arrow_array_stream" holds an `ArrowArrayStream` (the Arrow C
    // stream interface); the consumer takes ownership by moving the struct out and leaving a
    // released (empty) one behind, which the capsule's destructor then ignores.
    let stream = unsafe {
        std::ptr::replace(
            pointer.as_ptr().cast::<ArrowArrayStream>(),
            ArrowArrayStream::empty(),
        )
    };
    let failed = |e: polars::error::PolarsError| {
        PyValueError::new_err(format!("`{what}`: cannot read the Arrow stream: {e}"))
    };
    // SAFETY: the stream was produced by the table's library following the C stream interface.
    let mut reader =
        unsafe { ArrowArrayStreamReader::try_new(Box::new(stream)) }.map_err(failed)?;
    let ArrowDataType::Struct(fields) = reader.field().dtype().clone() else {
        return Err(PyTypeError::new_err(format!(
            "`{what}` is not a table: its Arrow stream holds {:?}, not record batches",
            reader.field().dtype()
        )));
    };
    let mut columns: Vec<Option<Series>> = vec![None; fields.len()];
    // SAFETY: as above; each batch is imported before the next is requested.
    while let Some(batch) = unsafe { reader.next() } {
        let batch = batch.map_err(failed)?;
        let Some(batch) = batch.as_any().downcast_ref::<StructArray>() else {
            return Err(PyTypeError::new_err(format!(
                "`{what}`: a batch of its Arrow stream is not a record batch"
            )));
        };
        for ((column, field), values) in columns.iter_mut().zip(&fields).zip(batch.values()) {
            let part = Series::from_arrow(field.name.clone(), values.clone()).map_err(|e| {
                PyValueError::new_err(format!(
                    "`{what}`: column `{}` of Arrow type {:?} cannot be read ({e}); cast it to text, number or date",
                    field.name,
                    field.dtype()
                ))
            })?;
            match column {
                Some(series) => {
                    series.append(&part).map_err(failed)?;
                }
                None => *column = Some(part),
            }
        }
    }
    let columns: Vec<Column> = columns
        .into_iter()
        .zip(&fields)
        .map(|(series, field)| {
            series.map_or_else(
                || Column::new_empty(field.name.clone(), &polars::prelude::DataType::Null),
                Column::from,
            )
        })
        .collect();
    DataFrame::new_infer_height(columns).map_err(failed)
}

/// A table handed to Python: read it with `pyarrow.table(...)`, `polars.DataFrame(...)` or any
/// library that takes the Arrow stream interface (once; the stream is moved to the reader).
#[pyclass(module = "leadscore._native", name = "ArrowTable")]
pub struct ArrowTable {
    frame: Option<DataFrame>,
}

impl ArrowTable {
    /// Wraps a data frame.
    pub fn new(frame: DataFrame) -> Self {
        Self { frame: Some(frame) }
    }
}

#[pymethods]
impl ArrowTable {
    /// The Arrow C stream of the table (the PyCapsule interface).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // Readers may ask for another schema; the table is offered as it is, which the
        // interface allows.
        let _ = requested_schema;
        let frame = self.frame.take().ok_or_else(|| {
            PyValueError::new_err("this table was already read; score again for another copy")
        })?;
        let fields: Vec<Field> = frame
            .columns()
            .iter()
            .map(|c| {
                c.as_materialized_series()
                    .field()
                    .to_arrow(CompatLevel::oldest())
            })
            .collect();
        let dtype = ArrowDataType::Struct(fields);
        let rows = frame.height();
        let values: Vec<Box<dyn Array>> = frame
            .columns()
            .iter()
            .map(|c| {
                c.as_materialized_series()
                    .rechunk()
                    .to_arrow(0, CompatLevel::oldest())
            })
            .collect();
        let batch: Box<dyn Array> = Box::new(StructArray::new(dtype.clone(), rows, values, None));
        let stream = export_iterator(
            Box::new(std::iter::once(Ok(batch))),
            Field::new("".into(), dtype, false),
        );
        PyCapsule::new_with_value(py, stream, STREAM)
    }
}
