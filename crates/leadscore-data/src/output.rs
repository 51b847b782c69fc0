//! Writing result tables as CSV or Parquet.

use std::fs::File;
use std::path::Path;

use polars::prelude::{Column, DataFrame, ParquetWriter};

use crate::atomic::write_atomically;
use crate::error::DataError;
use crate::table::FileFormat;

/// Values of one output column.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputValues {
    /// Text cells.
    Text(Vec<String>),
    /// Numbers (NaN written empty in CSV, null in Parquet).
    Number(Vec<f64>),
    /// Integers.
    Integer(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl OutputValues {
    fn len(&self) -> usize {
        match self {
            Self::Text(v) => v.len(),
            Self::Number(v) => v.len(),
            Self::Integer(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    fn cell(&self, row: usize) -> String {
        match self {
            Self::Text(v) => v[row].clone(),
            Self::Number(v) if v[row].is_nan() => String::new(),
            Self::Number(v) => v[row].to_string(),
            Self::Integer(v) => v[row].to_string(),
            Self::Bool(v) => v[row].to_string(),
        }
    }
}

/// Writes named columns to `path` (CSV unless the extension says Parquet), atomically.
pub fn write_table(path: &Path, columns: &[(String, OutputValues)]) -> Result<(), DataError> {
    let fail = |message: String| DataError::Write {
        path: path.to_path_buf(),
        message,
    };
    let rows = columns.first().map_or(0, |(_, v)| v.len());
    if columns.iter().any(|(_, v)| v.len() != rows) {
        return Err(fail("columns of different lengths".to_owned()));
    }
    let format = FileFormat::of(path)?;
    write_atomically(path, |file| {
        match format {
            FileFormat::Delimited => write_csv(file, columns, rows),
            FileFormat::Parquet => write_parquet(file, columns),
        }
        .map_err(std::io::Error::other)
    })
    .map_err(|e| fail(e.to_string()))
}

fn write_csv(
    file: &mut File,
    columns: &[(String, OutputValues)],
    rows: usize,
) -> Result<(), String> {
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
    writer
        .write_record(columns.iter().map(|(name, _)| name.as_str()))
        .map_err(|e| e.to_string())?;
    for row in 0..rows {
        writer
            .write_record(columns.iter().map(|(_, values)| values.cell(row)))
            .map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())
}

fn write_parquet(file: &mut File, columns: &[(String, OutputValues)]) -> Result<(), String> {
    let mut frame = output_frame(columns)?;
    ParquetWriter::new(file)
        .finish(&mut frame)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An output table as a data frame (NaN numbers as nulls): what a Parquet output holds and what
/// the Python package hands back through Arrow.
pub fn output_frame(columns: &[(String, OutputValues)]) -> Result<DataFrame, String> {
    let series: Vec<Column> = columns
        .iter()
        .map(|(name, values)| match values {
            OutputValues::Text(v) => Column::new(name.as_str().into(), v),
            OutputValues::Number(v) => Column::new(
                name.as_str().into(),
                v.iter()
                    .map(|x| (!x.is_nan()).then_some(*x))
                    .collect::<Vec<Option<f64>>>(),
            ),
            OutputValues::Integer(v) => Column::new(name.as_str().into(), v),
            OutputValues::Bool(v) => Column::new(name.as_str().into(), v),
        })
        .collect();
    DataFrame::new_infer_height(series).map_err(|e| e.to_string())
}
