//! What an operator changes, the same from the JSON API and from the pages: each action
//! checks its input, runs against the broker and is logged with the user who did it.

use crate::console_state::ConsoleState;
use crate::error::ApiError;
use crate::message_view::Outgoing;
use broker::introspect::MAX_MOVE;
use broker::store::DurableName;
use broker::{BrokerError, Destination};

/// Names an operator may give a queue: non-empty, no wildcards, no control characters.
///
/// # Errors
/// `BadRequest` naming the rule.
pub fn check_queue_name(name: &str) -> Result<(), ApiError> {
    let bad = name.is_empty()
        || name.len() > 1024
        || name.chars().any(char::is_control)
        || name.split('.').any(|s| s == "*" || s == ">");
    if bad {
        return Err(ApiError::BadRequest(format!(
            "invalid queue name {name:?}: non-empty, at most 1024 bytes, no control characters or wildcards"
        )));
    }
    Ok(())
}

impl ConsoleState {
    /// # Errors
    /// An invalid name; store failures.
    pub async fn create_queue(&self, user: &str, name: &str) -> Result<(), ApiError> {
        check_queue_name(name)?;
        self.broker.create_queue(name).await?;
        tracing::info!(%user, queue = %name, "console: queue created");
        Ok(())
    }

    /// # Errors
    /// No such queue; store failures.
    pub async fn delete_queue(&self, user: &str, name: &str) -> Result<(), ApiError> {
        self.broker.delete_queue(name).await?;
        tracing::info!(%user, queue = %name, "console: queue deleted");
        Ok(())
    }

    /// Returns how many messages were removed.
    ///
    /// # Errors
    /// No such queue; store failures.
    pub async fn purge_queue(&self, user: &str, name: &str) -> Result<usize, ApiError> {
        let purged = self.broker.purge_queue(name).await?;
        tracing::info!(%user, queue = %name, purged, "console: queue purged");
        Ok(purged)
    }

    /// Deletes a durable subscription and the messages kept for it.
    ///
    /// # Errors
    /// No such subscription; `Conflict` while it has an active consumer; store failures.
    pub async fn delete_subscription(
        &self,
        user: &str,
        client_id: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let key = DurableName {
            client_id: client_id.to_string(),
            name: name.to_string(),
        };
        match self.broker.remove_subscription(key).await {
            Ok(()) => {}
            Err(BrokerError::NoSuchSubscription(_)) => {
                return Err(ApiError::NotFound(format!(
                    "no durable subscription {name:?} of client {client_id:?}"
                )))
            }
            Err(BrokerError::SubscriptionInUse(_)) => {
                return Err(ApiError::Conflict(format!(
                    "durable subscription {name:?} of client {client_id:?} is in use (it has an \
                     active consumer): close the consumer first"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(%user, %client_id, subscription = %name, "console: durable subscription deleted");
        Ok(())
    }

    /// Sends a message to a queue; returns its message id.
    ///
    /// # Errors
    /// An invalid name; store failures.
    pub async fn send(&self, user: &str, queue: &str, out: Outgoing) -> Result<String, ApiError> {
        check_queue_name(queue)?;
        let m = self.make_message(Destination::Queue(queue.into()), out);
        let id = m.id.clone();
        self.broker.send(m).await?;
        tracing::debug!(%user, %queue, message_id = %id, "console: message sent");
        Ok(id)
    }

    /// Moves (or copies) waiting messages to another queue; returns how many.
    ///
    /// # Errors
    /// An invalid target, the same queue, too many ids, no such source; store failures.
    pub async fn move_messages(
        &self,
        user: &str,
        from: &str,
        message_ids: &[String],
        to: &str,
        copy: bool,
    ) -> Result<usize, ApiError> {
        check_queue_name(to)?;
        if to == from {
            return Err(ApiError::BadRequest(
                "source and target are the same queue".into(),
            ));
        }
        if message_ids.len() > MAX_MOVE {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_MOVE} messages per request"
            )));
        }
        let count = self
            .broker
            .move_messages(from, message_ids, to, copy)
            .await?;
        tracing::info!(%user, %from, %to, count, copy, "console: messages moved");
        Ok(count)
    }
}
