//! Writing result tables as CSV or Parquet.

use std::fs::File;
use std::path::Path;

use polars::prelude::{BatchedWriter, Column, DataFrame, ParquetWriter};

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
    write_table_in_parts(path, |sink| sink.write(columns))
}

/// Writes a table whose rows arrive in parts, atomically (CSV unless the extension says
/// Parquet): `fill` hands each part, named columns of equal length, to the sink in order. Only
/// one part is in memory at a time; on any error the target is left untouched.
pub fn write_table_in_parts<E: From<DataError>>(
    path: &Path,
    fill: impl FnOnce(&mut TableSink<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let format = FileFormat::of(path)?;
    let mut failure: Option<E> = None;
    let written = write_atomically(path, |file| {
        let mut sink = TableSink {
            path,
            format: match format {
                FileFormat::Delimited => Format::Csv(Box::new(csv::Writer::from_writer(
                    std::io::BufWriter::new(file),
                ))),
                FileFormat::Parquet => Format::Parquet {
                    file: Some(file),
                    writer: None,
                },
            },
            parts: 0,
        };
        let filled = fill(&mut sink).and_then(|()| sink.finish().map_err(E::from));
        filled.map_err(|error| {
            failure = Some(error);
            std::io::Error::other("the table was not complete")
        })
    });
    match (failure, written) {
        (Some(error), _) => Err(error),
        (None, Ok(())) => Ok(()),
        (None, Err(e)) => Err(E::from(DataError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        })),
    }
}

/// Where [`write_table_in_parts`] takes the parts of a table.
pub struct TableSink<'f> {
    path: &'f Path,
    format: Format<'f>,
    parts: usize,
}

enum Format<'f> {
    Csv(Box<csv::Writer<std::io::BufWriter<&'f mut File>>>),
    /// The Parquet writer starts with the first part, whose columns give the schema, and takes
    /// the file over.
    Parquet {
        file: Option<&'f mut File>,
        writer: Option<Box<BatchedWriter<&'f mut File>>>,
    },
}

impl TableSink<'_> {
    /// Appends the rows of one part; every part has the first part's columns.
    pub fn write(&mut self, columns: &[(String, OutputValues)]) -> Result<(), DataError> {
        let fail = |message: String| DataError::Write {
            path: self.path.to_path_buf(),
            message,
        };
        let rows = columns.first().map_or(0, |(_, v)| v.len());
        if columns.iter().any(|(_, v)| v.len() != rows) {
            return Err(fail("columns of different lengths".to_owned()));
        }
        let first = self.parts == 0;
        self.parts += 1;
        match &mut self.format {
            Format::Csv(writer) => {
                if first {
                    writer
                        .write_record(columns.iter().map(|(name, _)| name.as_str()))
                        .map_err(|e| fail(e.to_string()))?;
                }
                for row in 0..rows {
                    writer
                        .write_record(columns.iter().map(|(_, values)| values.cell(row)))
                        .map_err(|e| fail(e.to_string()))?;
                }
                Ok(())
            }
            Format::Parquet { file, writer } => {
                let frame = output_frame(columns).map_err(fail)?;
                let batched = match (writer.as_mut(), file.take()) {
                    (Some(batched), _) => batched,
                    (None, Some(file)) => writer.insert(Box::new(
                        ParquetWriter::new(file)
                            .batched(frame.schema())
                            .map_err(|e| fail(e.to_string()))?,
                    )),
                    (None, None) => return Err(fail("the file was lost".to_owned())),
                };
                batched.write_batch(&frame).map_err(|e| fail(e.to_string()))
            }
        }
    }

    fn finish(self) -> Result<(), DataError> {
        let fail = |message: String| DataError::Write {
            path: self.path.to_path_buf(),
            message,
        };
        match self.format {
            Format::Csv(mut writer) => writer.flush().map_err(|e| fail(e.to_string())),
            Format::Parquet {
                writer: Some(batched),
                ..
            } => batched
                .finish()
                .map(|_| ())
                .map_err(|e| fail(e.to_string())),
            Format::Parquet { writer: None, .. } => Err(fail("no rows were written".to_owned())),
        }
    }
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

#[cfg(test)]
mod tests {
    use polars::prelude::{ParquetReader, SerReader};

    use super::*;

    fn part(ids: &[&str], scores: &[f64]) -> Vec<(String, OutputValues)> {
        vec![
            (
                "lead_id".to_owned(),
                OutputValues::Text(ids.iter().map(|s| (*s).to_owned()).collect()),
            ),
            ("score".to_owned(), OutputValues::Number(scores.to_vec())),
        ]
    }

    #[test]
    fn a_table_written_in_parts_is_the_table_written_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let whole = part(&["a", "b", "c"], &[0.5, f64::NAN, 0.25]);
        for extension in ["csv", "parquet"] {
            let at_once = dir.path().join(format!("whole.{extension}"));
            let in_parts = dir.path().join(format!("parts.{extension}"));
            write_table(&at_once, &whole).expect("whole");
            write_table_in_parts(&in_parts, |sink| {
                sink.write(&part(&["a", "b"], &[0.5, f64::NAN]))?;
                sink.write(&part(&["c"], &[0.25]))
            })
            .expect("parts");
            if extension == "csv" {
                let text = std::fs::read_to_string(&in_parts).expect("read");
                assert_eq!(text, "lead_id,score\na,0.5\nb,\nc,0.25\n");
                assert_eq!(std::fs::read(&at_once).expect("read"), text.as_bytes());
            } else {
                let read = |path: &Path| {
                    ParquetReader::new(File::open(path).expect("open"))
                        .finish()
                        .expect("parquet")
                };
                let frame = read(&in_parts);
                assert_eq!(frame.height(), 3);
                assert!(frame.equals_missing(&read(&at_once)));
            }
        }
    }

    #[test]
    fn a_failed_part_leaves_the_target_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("scores.csv");
        std::fs::write(&path, "old\n").expect("write");
        let result = write_table_in_parts(&path, |sink| {
            sink.write(&part(&["a"], &[1.0]))?;
            Err(DataError::NoRows { path: path.clone() })
        });
        assert!(matches!(result, Err(DataError::NoRows { .. })));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "old\n");
        let leftovers = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(leftovers, 1, "the temporary file is removed");
    }
}
