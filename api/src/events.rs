//! Reading a request's signals as one ordered stream of events.
//!
//! `Tokens`, `Reasoning` and `Finished` arrive in the order the daemon sent them; reading them
//! through one stream (rather than one per signal) keeps that order, so the chunks concatenate
//! to the `Finished` answer.

use futures_util::StreamExt;
use zbus::message::Message;

use crate::Error;
use crate::details::{AnswerDetails, STATUS_OK};
use crate::dict::Dict;
use crate::proxy::RequestProxy;

/// The end of a request, as `Finished` carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// `ok` or the full error name.
    pub status: String,
    /// The whole answer (also when cancelled: what was generated so far).
    pub answer: String,
    /// Details (see [`crate::details`]).
    pub stats: Dict,
}

impl Finished {
    /// `Ok` for `status` = `ok`, otherwise the typed error with the `error` detail as message.
    pub fn result(&self) -> Result<(), Error> {
        if self.status == STATUS_OK {
            return Ok(());
        }
        let msg = crate::dict::get_str(&self.stats, crate::details::ERROR).unwrap_or_default();
        Err(Error::from_name(&self.status, msg.clone())
            .unwrap_or_else(|| Error::Internal(format!("{}: {msg}", self.status))))
    }

    /// Typed details.
    pub fn details(&self) -> AnswerDetails {
        AnswerDetails::from_dict(&self.stats)
    }
}

/// One signal of a request object.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestEvent {
    /// `Tokens(s chunk)`.
    Tokens(String),
    /// `Reasoning(s chunk)`.
    Reasoning(String),
    /// `Finished(s status, s answer, a{sv} stats)`.
    Finished(Finished),
}

impl RequestEvent {
    /// Decode a signal message; `Ok(None)` for signals that are not request events.
    pub fn from_message(msg: &Message) -> zbus::Result<Option<Self>> {
        let header = msg.header();
        let Some(member) = header.member() else {
            return Ok(None);
        };
        let body = msg.body();
        Ok(Some(match member.as_str() {
            "Tokens" => RequestEvent::Tokens(body.deserialize::<String>()?),
            "Reasoning" => RequestEvent::Reasoning(body.deserialize::<String>()?),
            "Finished" => {
                let (status, answer, stats): (String, String, Dict) = body.deserialize()?;
                RequestEvent::Finished(Finished {
                    status,
                    answer,
                    stats,
                })
            }
            _ => return Ok(None),
        }))
    }
}

/// All events of one request, in order; ends after `Finished`.
///
/// Create it *before* calling `StartAsk` (with the path from [`crate::request_path`] and a
/// `handle_token`), or early chunks may be missed.
pub async fn request_events(
    proxy: &RequestProxy<'_>,
) -> zbus::Result<impl futures_util::Stream<Item = RequestEvent> + Unpin + use<>> {
    let signals = proxy.inner().receive_all_signals().await?;
    let mut done = false;
    Ok(Box::pin(
        signals
            .filter_map(|msg| async move { RequestEvent::from_message(&msg).ok().flatten() })
            .take_while(move |ev| {
                let keep = !done;
                if matches!(ev, RequestEvent::Finished(_)) {
                    done = true;
                }
                async move { keep }
            }),
    ))
}
