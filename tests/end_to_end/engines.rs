//! Real SQL engines for the warehouse tests, started by the tests themselves: a PostgreSQL
//! server on a temporary folder (Debian's `postgresql` package: initdb, pg_ctl, psql) and DuckDB
//! through its Python wheel (`LEADSCORE_PYTHON`, or `python3`, must import duckdb).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A loadable CSV: a table, the file and its separator.
pub struct Csv<'a> {
    pub table: &'a str,
    pub path: &'a Path,
    pub separator: char,
}

impl Csv<'_> {
    fn header(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.path).expect("csv");
        text.lines()
            .next()
            .expect("header")
            .split(self.separator)
            .map(|h| h.trim_matches('"').to_owned())
            .collect()
    }
}

/// A PostgreSQL server of its own, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run server commands as `postgres` (initdb refuses root).
    as_postgres: bool,
}

impl Postgres {
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(Result::ok)
                    .map(|v| v.path().join("bin"))
                    .filter(|b| b.join("initdb").is_file())
                    .max()
            })
            .expect("PostgreSQL server binaries (apt-get install postgresql)");
        let root =
            String::from_utf8_lossy(&run(Command::new("id").arg("-u"), "id").stdout).trim() == "0";
        let dir = tempfile::tempdir().expect("temp dir");
        if root {
            run(
                Command::new("chown").arg("postgres").arg(dir.path()),
                "chown",
            );
        }
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let server = Self {
            dir,
            bin,
            port,
            as_postgres: root,
        };
        let data = server.dir.path().join("data");
        run(
            server.server_command("initdb").args([
                "-D",
                data.to_str().expect("utf-8"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]),
            "initdb",
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses='' -c jit=off",
            server.dir.path().display()
        );
        run(
            server.server_command("pg_ctl").args([
                "-D",
                data.to_str().expect("utf-8"),
                "-o",
                &options,
                "-l",
                server.dir.path().join("log").to_str().expect("utf-8"),
                "-w",
                "start",
            ]),
            "pg_ctl start",
        );
        server
    }

    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn psql(&self, file: &Path) -> String {
        let output = run(
            Command::new("psql")
                .arg("-X")
                .args(["-h", self.dir.path().to_str().expect("utf-8")])
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                ])
                .args(["-v", "ON_ERROR_STOP=1", "-q", "-f"])
                .arg(file),
            "psql",
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs the DDL, loads the files with `\copy`, runs the query and returns its CSV.
    pub fn score(&self, work: &Path, ddl: &str, files: &[Csv<'_>], query: &str) -> String {
        let mut script = format!(
            "SET TIME ZONE 'UTC';\nDROP SCHEMA public CASCADE; CREATE SCHEMA public;\n{ddl}\n"
        );
        for csv in files {
            let columns: Vec<String> = csv
                .header()
                .iter()
                .map(|h| format!("\"{}\"", h.replace('"', "\"\"")))
                .collect();
            script.push_str(&format!(
                "\\copy {} ({}) FROM '{}' WITH (FORMAT csv, HEADER, DELIMITER '{}')\n",
                csv.table,
                columns.join(", "),
                csv.path.display(),
                csv.separator
            ));
        }
        let body: String = query
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        script.push_str(&format!(
            "COPY (\n{}\n) TO STDOUT WITH (FORMAT csv, HEADER);\n",
            body.trim_end().trim_end_matches(';')
        ));
        let file = work.join("postgres.sql");
        std::fs::write(&file, script).expect("write");
        self.psql(&file)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .server_command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

const DUCKDB_RUNNER: &str = r#"
import csv, sys, duckdb
ddl, query, out = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
con.execute(ddl)
for spec in sys.argv[4:]:
    table, sep, path = spec.split("|", 2)
    with open(path, newline="") as f:
        header = next(csv.reader(f, delimiter=sep))
    columns = ", ".join('"' + h.replace('"', '""') + '"' for h in header)
    con.execute(f"COPY {table} ({columns}) FROM '{path}' (HEADER, DELIMITER '{sep}', QUOTE '\"')")
con.execute(f"COPY ({query.rstrip().rstrip(';')}) TO '{out}' (HEADER, DELIMITER ',')")
"#;

/// DuckDB through its Python wheel.
pub struct DuckDb {
    python: String,
}

impl DuckDb {
    pub fn find() -> Self {
        let python = std::env::var("LEADSCORE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(
            Command::new(&python).args(["-c", "import duckdb"]),
            "a Python with duckdb (set LEADSCORE_PYTHON)",
        );
        Self { python }
    }

    pub fn score(&self, work: &Path, ddl: &str, files: &[Csv<'_>], query: &str) -> String {
        let (runner, ddl_file, query_file, out) = (
            work.join("duckdb_runner.py"),
            work.join("duckdb_ddl.sql"),
            work.join("duckdb_query.sql"),
            work.join("duckdb_out.csv"),
        );
        std::fs::write(&runner, DUCKDB_RUNNER).expect("write");
        std::fs::write(&ddl_file, ddl).expect("write");
        std::fs::write(&query_file, query).expect("write");
        let mut command = Command::new(&self.python);
        command
            .arg(&runner)
            .arg(&ddl_file)
            .arg(&query_file)
            .arg(&out);
        for csv in files {
            command.arg(format!(
                "{}|{}|{}",
                csv.table,
                csv.separator,
                csv.path.display()
            ));
        }
        run(&mut command, "duckdb");
        std::fs::read_to_string(out).expect("duckdb output")
    }
}
