//! Cancelling read queries: the server interrupts the query of a request that timed out or was
//! abandoned, and every report and console query opens its connection through [`watched`].

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, InterruptHandle};

use crate::error::StoreError;
use crate::schema::{database_error, open_existing};

/// Stops a running report query from another thread: the server cancels the query of a request
/// that timed out or was abandoned, so no thread keeps working for an answer nobody will read.
#[derive(Clone, Default)]
pub struct Cancellation {
    inner: Arc<CancellationState>,
}

impl std::fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancellation")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[derive(Default)]
struct CancellationState {
    cancelled: AtomicBool,
    running: Mutex<Option<InterruptHandle>>,
}

impl Cancellation {
    /// Stops the query now if it runs, or before it starts.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        if let Ok(running) = self.inner.running.lock()
            && let Some(handle) = running.as_ref()
        {
            handle.interrupt();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Lets `cancel` interrupt `connection`; fails when cancelled already.
    pub(crate) fn watch(&self, connection: &Connection) -> Result<(), StoreError> {
        if let Ok(mut running) = self.inner.running.lock() {
            *running = Some(connection.get_interrupt_handle());
        }
        // Checked after the handle is in place, so a cancel between the two is never missed.
        if self.is_cancelled() {
            return Err(StoreError::Cancelled);
        }
        Ok(())
    }
}

/// Opens the database for a query that `cancellation` may interrupt, and maps errors.
pub(crate) fn watched<'a>(
    path: &'a Path,
    cancellation: &'a Cancellation,
) -> Result<(Connection, impl Fn(rusqlite::Error) -> StoreError + 'a), StoreError> {
    let connection = open_existing(path)?;
    cancellation.watch(&connection)?;
    let error = move |e: rusqlite::Error| {
        if cancellation.is_cancelled() {
            StoreError::Cancelled
        } else {
            database_error(path)(e)
        }
    };
    Ok((connection, error))
}
