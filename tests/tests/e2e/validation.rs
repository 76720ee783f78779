//! Every bad input gets its typed error name (never a crash, never a disconnect), through both
//! `Ask` and `StartAsk`, and the same connection keeps working afterwards.

use futures_util::StreamExt;
use medllm_api::dict::{put, put_str};
use medllm_api::{AskOptions, Dict};

use crate::common::*;

/// (what, question, options, error name, text the message must contain)
fn cases(max_bytes: usize) -> Vec<(&'static str, String, Dict, &'static str, &'static str)> {
    let q = || SHORT_QUESTION.to_string();
    let opt = |f: &dyn Fn(&mut Dict)| {
        let mut d = Dict::new();
        f(&mut d);
        d
    };
    vec![
        (
            "empty question",
            String::new(),
            Dict::new(),
            "InvalidArgument",
            "empty",
        ),
        (
            "whitespace question",
            " \n\t ".into(),
            Dict::new(),
            "InvalidArgument",
            "empty",
        ),
        (
            "question over the limit",
            "a".repeat(max_bytes + 1),
            Dict::new(),
            "QuestionTooLarge",
            "limit",
        ),
        (
            "unknown option",
            q(),
            opt(&|d| put(d, "max_tokenz", 5u32)),
            "InvalidArgument",
            "max_tokenz",
        ),
        (
            "wrong type",
            q(),
            opt(&|d| put(d, "max_tokens", 5i32)),
            "InvalidArgument",
            "max_tokens",
        ),
        (
            "wrong type (string)",
            q(),
            opt(&|d| put_str(d, "temperature", "hot")),
            "InvalidArgument",
            "temperature",
        ),
        (
            "max_tokens 0",
            q(),
            opt(&|d| put(d, "max_tokens", 0u32)),
            "InvalidArgument",
            "max_tokens",
        ),
        (
            "temperature < 0",
            q(),
            opt(&|d| put(d, "temperature", -1.0f64)),
            "InvalidArgument",
            "temperature",
        ),
        (
            "temperature NaN",
            q(),
            opt(&|d| put(d, "temperature", f64::NAN)),
            "InvalidArgument",
            "temperature",
        ),
        (
            "top_p 0",
            q(),
            opt(&|d| put(d, "top_p", 0.0f64)),
            "InvalidArgument",
            "top_p",
        ),
        (
            "top_p > 1",
            q(),
            opt(&|d| put(d, "top_p", 1.5f64)),
            "InvalidArgument",
            "top_p",
        ),
        (
            "unknown category",
            q(),
            opt(&|d| put_str(d, "category", "cardiology")),
            "InvalidArgument",
            "cardiology",
        ),
        (
            "bad handle_token",
            q(),
            opt(&|d| put_str(d, "handle_token", "../x")),
            "InvalidArgument",
            "handle_token",
        ),
    ]
}

#[test]
fn bad_inputs_get_typed_errors_on_ask_and_start_ask() {
    let _g = serial();
    rt().block_on(async {
        let (_conn, d) = client().await;
        wait_idle(&d).await;
        let before = status(&d).await;
        for (what, question, options, name, needle) in cases(shared().cfg.max_question_bytes) {
            // handle_token belongs to StartAsk; Ask rejects it for its own reason (checked below).
            if what != "bad handle_token" {
                eprintln!("Ask: {what}");
                assert_err(d.ask(&question, &options).await, name, needle);
            }
            eprintln!("StartAsk: {what}");
            assert_err(d.start_ask(&question, &options).await, name, needle);
        }
        // Whether a prompt fits is known once it is tokenized: Ask fails with PromptTooLong,
        // StartAsk's request finishes with it.
        let huge = AskOptions {
            max_tokens: Some(1_000_000),
            ..Default::default()
        };
        assert_err(
            d.ask(SHORT_QUESTION, &huge.to_dict()).await,
            "PromptTooLong",
            "",
        );
        let conn = d.inner().connection();
        let path = medllm_api::request_path(conn.unique_name().unwrap().as_str(), "huge").unwrap();
        let req = medllm_api::RequestProxy::builder(conn)
            .path(path)
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut events = medllm_api::request_events(&req).await.unwrap();
        let huge = AskOptions {
            handle_token: Some("huge".into()),
            ..huge
        };
        d.start_ask(SHORT_QUESTION, &huge.to_dict()).await.unwrap();
        let finished = loop {
            if let medllm_api::RequestEvent::Finished(f) =
                events.next().await.expect("Finished comes")
            {
                break f;
            }
        };
        assert_eq!(finished.status, "org.medllm.Daemon1.Error.PromptTooLong");
        assert!(matches!(
            finished.result(),
            Err(medllm_api::Error::PromptTooLong(_))
        ));

        let with_token = AskOptions {
            handle_token: Some("t".into()),
            ..Default::default()
        };
        assert_err(
            d.ask(SHORT_QUESTION, &with_token.to_dict()).await,
            "InvalidArgument",
            "StartAsk",
        );

        // The same connection still works, and nothing was counted as a request.
        assert_eq!(d.state().await.unwrap(), "ready");
        let opts = AskOptions {
            max_tokens: Some(4),
            ..Default::default()
        };
        let (answer, _) = d
            .ask(SHORT_QUESTION, &opts.to_dict())
            .await
            .expect("still answering");
        assert!(!answer.is_empty());
        let after = wait_idle(&d).await;
        let accepted = |s: &medllm_api::DaemonStatus| {
            s.requests_by_category
                .as_ref()
                .unwrap()
                .values()
                .sum::<u64>()
        };
        assert_eq!(
            accepted(&after),
            accepted(&before) + 3,
            "only the two over-long prompts and the last question were handed to the engine"
        );
    });
}

#[test]
fn a_handle_token_in_use_is_refused() {
    let _g = serial();
    rt().block_on(async {
        let (_conn, d) = client().await;
        let opts = AskOptions {
            handle_token: Some("dup".into()),
            max_tokens: Some(300),
            ..Default::default()
        };
        let first = d
            .start_ask(LONG_QUESTION, &opts.to_dict())
            .await
            .expect("first request");
        assert_err(
            d.start_ask(LONG_QUESTION, &opts.to_dict()).await,
            "InvalidArgument",
            "already in use",
        );
        let req = medllm_api::RequestProxy::builder(d.inner().connection())
            .path(first)
            .unwrap()
            .build()
            .await
            .unwrap();
        req.cancel().await.unwrap();
        wait_idle(&d).await;
    });
}
