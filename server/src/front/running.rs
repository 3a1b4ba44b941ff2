//! A running statement: the token that cancels it and its place among the server's in-flight
//! statements, which graceful shutdown waits for. Both are held until the statement's last row
//! has been sent.

use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;
use weir_engine::EngineError;

#[derive(Clone)]
pub struct Running {
    cancel: CancellationToken,
    /// Held, not read: the statement counts as running until this is dropped.
    _inflight: TaskTrackerToken,
}

impl Running {
    /// A statement that `cancel` stops, counted among `inflight`.
    pub fn new(cancel: CancellationToken, inflight: &TaskTracker) -> Self {
        Running {
            cancel,
            _inflight: inflight.token(),
        }
    }

    /// The result stream, ended with a 57014 error as soon as the statement is cancelled: the
    /// query that feeds it is dropped, and so stopped. The statement stays in flight until the
    /// stream ends or is dropped.
    pub fn until_cancelled(self, batches: SendableRecordBatchStream) -> SendableRecordBatchStream {
        let schema = batches.schema();
        let stream = futures::stream::unfold(Some((batches, self)), |state| async move {
            let (mut batches, running) = state?;
            tokio::select! {
                biased;
                _ = running.cancel.cancelled() => Some((
                    Err(datafusion::error::DataFusionError::External(Box::new(
                        EngineError::Canceled,
                    ))),
                    None,
                )),
                next = batches.next() => next.map(|item| (item, Some((batches, running)))),
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    fn batches(n: usize) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1]))])
            .expect("batch");
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter((0..n).map(move |_| Ok(batch.clone()))),
        ))
    }

    #[tokio::test]
    async fn a_cancelled_statement_ends_with_57014_and_leaves_the_in_flight_set() {
        let inflight = TaskTracker::new();
        let cancel = CancellationToken::new();
        let mut stream = Running::new(cancel.clone(), &inflight).until_cancelled(batches(3));
        assert!(stream.next().await.expect("first batch").is_ok());
        assert_eq!(inflight.len(), 1);
        cancel.cancel();
        let err = stream
            .next()
            .await
            .expect("an error")
            .expect_err("cancelled");
        assert_eq!(EngineError::from(err).sqlstate(), "57014");
        assert!(stream.next().await.is_none());
        assert_eq!(inflight.len(), 0);
    }

    #[tokio::test]
    async fn a_finished_statement_leaves_the_in_flight_set() {
        let inflight = TaskTracker::new();
        let stream = Running::new(CancellationToken::new(), &inflight).until_cancelled(batches(2));
        let all: Vec<_> = stream.collect().await;
        assert_eq!(all.len(), 2);
        assert_eq!(inflight.len(), 0);
    }
}
