//! The daemon through the `medllm-api` proxies: answers, details, streaming order, unicast
//! signals, properties, `Status()` and `Classify()`.

use std::time::Duration;

use futures_util::StreamExt;
use medllm_api::{
    AnswerDetails, AskOptions, ClassifyResult, RequestEvent, RequestProxy, STATUS_OK,
    request_events, request_path,
};
use zbus::message::Type as MessageType;
use zbus::{MatchRule, MessageStream};

use crate::common::*;

fn greedy(max_tokens: u32) -> AskOptions {
    AskOptions {
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ..Default::default()
    }
}

#[test]
fn ask_answers_with_details_and_greedy_answers_repeat() {
    let _g = serial();
    rt().block_on(async {
        let (_c, d) = client().await;
        wait_idle(&d).await;
        let (answer, dict) = d
            .ask(SHORT_QUESTION, &greedy(40).to_dict())
            .await
            .expect("Ask answers");
        assert!(!answer.trim().is_empty(), "empty answer");
        let det = AnswerDetails::from_dict(&dict);
        let classified = ClassifyResult::from_dict(&d.classify(SHORT_QUESTION, "").await.unwrap());
        assert_eq!(
            det.category, classified.category,
            "Ask used the classifier's category"
        );
        assert_eq!(det.category_overridden, Some(false));
        let completion = det.completion_tokens.unwrap();
        assert!(
            (1..=40).contains(&completion),
            "completion_tokens {completion}"
        );
        let (prompt, reused) = (
            det.prompt_tokens.unwrap(),
            det.reused_prefix_tokens.unwrap(),
        );
        assert!(
            reused > 0 && reused < prompt,
            "template reuse: {reused} of {prompt}"
        );
        assert!(det.time_to_first_token_ms.unwrap() > 0.0);
        assert!(det.total_time_ms.unwrap() >= det.time_to_first_token_ms.unwrap());
        assert_eq!(det.model_id, Some(d.model_id().await.unwrap()));
        assert!(
            matches!(
                det.finish_reason.as_deref(),
                Some("eos" | "length" | "stop")
            ),
            "{det:?}"
        );
        assert!(
            matches!(det.cache.as_deref(), Some("miss" | "bypass" | "exact")),
            "{det:?}"
        );
        assert_eq!(det.error, None);
        // Greedy decoding is deterministic: the same question gets the same answer.
        let (again, _) = d.ask(SHORT_QUESTION, &greedy(40).to_dict()).await.unwrap();
        assert_eq!(again, answer);
    });
}

#[test]
fn start_ask_streams_chunks_that_add_up_to_the_answer() {
    let _g = serial();
    rt().block_on(async {
        let (conn, d) = client().await;
        let unique = conn.unique_name().unwrap().to_string();
        let path = request_path(&unique, "stream_1").unwrap();
        let req = RequestProxy::builder(&conn)
            .path(path.clone())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut events = request_events(&req).await.unwrap();
        let opts = AskOptions {
            handle_token: Some("stream_1".into()),
            ..greedy(64)
        };
        let returned = d
            .start_ask(SHORT_QUESTION, &opts.to_dict())
            .await
            .expect("StartAsk");
        assert_eq!(returned, path, "the path follows the documented rule");

        let mut chunks = Vec::new();
        let finished = loop {
            match tokio::time::timeout(Duration::from_secs(120), events.next())
                .await
                .expect("events keep coming")
            {
                Some(RequestEvent::Tokens(c)) => chunks.push(c),
                Some(RequestEvent::Reasoning(_)) => panic!("reasoning was not asked for"),
                Some(RequestEvent::Finished(f)) => break f,
                None => panic!("stream ended without Finished"),
            }
        };
        assert_eq!(finished.status, STATUS_OK);
        finished.result().unwrap();
        assert!(!chunks.is_empty(), "at least one Tokens signal");
        assert_eq!(
            chunks.concat(),
            finished.answer,
            "chunks concatenate to the answer"
        );
        assert!(finished.details().completion_tokens.unwrap() >= 1);

        // The object goes away after Finished.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let e = req.cancel().await.expect_err("the request is over");
            if e.dbus_name().as_deref() == Some("org.freedesktop.DBus.Error.UnknownObject") {
                break;
            }
            assert_eq!(e.short_name(), Some("NoSuchRequest"), "{e:?}");
            assert!(
                std::time::Instant::now() < deadline,
                "request object not removed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[test]
fn start_ask_without_handle_token_gets_a_path_under_the_caller() {
    let _g = serial();
    rt().block_on(async {
        let (conn, d) = client().await;
        let path = d
            .start_ask(SHORT_QUESTION, &greedy(4).to_dict())
            .await
            .unwrap();
        let sender = medllm_api::escape_sender(conn.unique_name().unwrap().as_str());
        let prefix = format!("{}/{sender}/", medllm_api::REQUEST_PATH_PREFIX);
        assert!(path.as_str().starts_with(&prefix), "{path} under {prefix}");
        wait_idle(&d).await;
    });
}

#[test]
fn request_signals_are_unicast_to_the_caller() {
    let _g = serial();
    rt().block_on(async {
        let address = shared().bus.address();
        let (asker, d) = client().await;
        // A snooper with the broadest ordinary match rule: every signal on the bus.
        let snooper = connect(address).await;
        let all = MatchRule::builder().msg_type(MessageType::Signal).build();
        let mut snooped = MessageStream::for_match_rule(all, &snooper, Some(4096))
            .await
            .unwrap();

        let unique = asker.unique_name().unwrap().to_string();
        let path = request_path(&unique, "secret_1").unwrap();
        let req = RequestProxy::builder(&asker)
            .path(path.clone())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut events = request_events(&req).await.unwrap();
        let opts = AskOptions {
            handle_token: Some("secret_1".into()),
            ..greedy(32)
        };
        d.start_ask(
            "Patient Jane Roe, 54, has chest pain. What should I check?",
            &opts.to_dict(),
        )
        .await
        .unwrap();
        let mut tokens_seen = 0;
        while let Some(ev) = events.next().await {
            match ev {
                RequestEvent::Tokens(_) => tokens_seen += 1,
                RequestEvent::Finished(f) => {
                    f.result().unwrap();
                    break;
                }
                RequestEvent::Reasoning(_) => {}
            }
        }
        assert!(tokens_seen > 0, "the asker itself received Tokens");

        // Positive control: a broadcast sent after the request ended reaches the snooper, so
        // anything the bus had routed to it before is already in its queue.
        let control = connect(address).await;
        control
            .emit_signal(
                None::<zbus::names::BusName<'_>>,
                "/org/medllm/Test",
                "org.medllm.Test",
                "Control",
                &(),
            )
            .await
            .unwrap();
        let mut leaked = Vec::new();
        let saw_control = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(Ok(msg)) = snooped.next().await {
                let h = msg.header();
                let member = h.member().map(|m| m.to_string()).unwrap_or_default();
                if member == "Control" {
                    return true;
                }
                let p = h.path().map(|p| p.to_string()).unwrap_or_default();
                if p == path.as_str()
                    || matches!(member.as_str(), "Tokens" | "Finished" | "Reasoning")
                {
                    leaked.push(format!("{member} on {p}"));
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        assert!(
            saw_control,
            "the snooper's match rule works (control signal received)"
        );
        assert!(
            leaked.is_empty(),
            "another connection received request signals: {leaked:?}"
        );
    });
}

#[test]
fn properties_describe_the_running_daemon() {
    let _g = serial();
    rt().block_on(async {
        let (_c, d) = client().await;
        wait_idle(&d).await;
        assert_eq!(d.version().await.unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(d.state().await.unwrap(), "ready");
        let id = d.model_id().await.unwrap();
        let (name, hash) = id.split_once('@').expect("id is name@hash");
        assert!(
            !name.is_empty() && hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        // "cpu (<ggml CPU variant>)" on a CPU build.
        let backend = d.backend().await.unwrap();
        assert!(backend.starts_with("cpu ("), "{backend}");
        assert_eq!(d.mode().await.unwrap(), "base");
        assert_eq!(
            d.max_question_bytes().await.unwrap() as usize,
            shared().cfg.max_question_bytes
        );
        assert_eq!(d.active_requests().await.unwrap(), 0);
        assert_eq!(d.queue_length().await.unwrap(), 0);

        let s = status(&d).await;
        assert_eq!(s.state.as_deref(), Some("ready"));
        assert_eq!(s.model_id.as_deref(), Some(id.as_str()));
        assert_eq!(s.n_ctx, Some(shared().cfg.n_ctx));
        let by = s.requests_by_category.expect("per-category counts");
        for c in medllm_api::options::CATEGORIES {
            assert!(by.contains_key(c), "{c} missing from {by:?}");
        }
        assert_eq!(
            s.template_tokens.map(|t| t.len()),
            Some(5),
            "one template per category"
        );
        assert!(
            s.kv_cells_total.unwrap() > 0,
            "engine counters are included"
        );
    });
}

#[test]
fn active_requests_changes_are_signalled() {
    let _g = serial();
    rt().block_on(async {
        let (_c, d) = client().await;
        wait_idle(&d).await;
        let mut changes = d.receive_active_requests_changed().await;
        let (asker, ad) = client().await;
        let path = ad
            .start_ask(LONG_QUESTION, &greedy(400).to_dict())
            .await
            .unwrap();
        assert!(next_count(&mut changes, true).await >= 1);
        let req = RequestProxy::builder(&asker)
            .path(path)
            .unwrap()
            .build()
            .await
            .unwrap();
        req.cancel().await.unwrap();
        assert_eq!(next_count(&mut changes, false).await, 0);
    });
}

/// The next signalled `ActiveRequests` value that is non-zero (`busy`) or zero.
async fn next_count(changes: &mut zbus::proxy::PropertyStream<'static, u32>, busy: bool) -> u32 {
    loop {
        let c = tokio::time::timeout(Duration::from_secs(120), changes.next())
            .await
            .expect("a PropertiesChanged for ActiveRequests")
            .expect("stream open");
        let v = c.get().await.unwrap();
        if (v > 0) == busy {
            return v;
        }
    }
}

#[test]
fn classify_explains_and_honours_an_override() {
    let _g = serial();
    rt().block_on(async {
        let (_c, d) = client().await;
        let q = "He collapsed and is not breathing, what do I do?";
        let c = ClassifyResult::from_dict(&d.classify(q, "").await.unwrap());
        assert_eq!(c.category.as_deref(), Some("emergency"));
        assert_eq!(c.overridden, Some(false));
        assert!(!c.matched_terms.unwrap().is_empty());
        assert!(c.scores.unwrap()["emergency"] > 0.0);
        assert!(!c.reason.unwrap().is_empty());
        let emergency_prompt = c.system_prompt.unwrap();
        // The whole prompt, rendered the way the engine feeds it: gemma-3-270m is a base model
        // without a chat template, so the plain format wraps the category's system prompt.
        assert_eq!(
            c.rendered_prompt.as_deref(),
            Some(format!("{emergency_prompt}\n\nQuestion: {q}\nAnswer:").as_str()),
            "rendered prompt"
        );
        let o = ClassifyResult::from_dict(&d.classify(q, "prevention").await.unwrap());
        assert_eq!(o.category.as_deref(), Some("prevention"));
        assert_eq!(o.classified_category.as_deref(), Some("emergency"));
        assert_eq!(o.overridden, Some(true));
        let prevention_prompt = o.system_prompt.unwrap();
        assert_ne!(
            prevention_prompt, emergency_prompt,
            "each category has its own prompt"
        );
        assert!(
            o.rendered_prompt.unwrap().starts_with(&prevention_prompt),
            "the override's prompt is rendered"
        );
        assert_err(
            d.classify(q, "cardiology").await,
            "InvalidArgument",
            "cardiology",
        );
        assert_err(d.classify("  ", "").await, "InvalidArgument", "empty");
    });
}
