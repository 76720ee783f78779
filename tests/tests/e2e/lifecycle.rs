//! Requests ending early: `Cancel` by the creator only, cancellation when a client leaves the
//! bus (streaming and blocking calls), `Busy` under a flood, and answering again afterwards.

use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use medllm_api::{AskOptions, Error, RequestEvent, RequestProxy, request_events, request_path};

use crate::common::*;

fn long(max_tokens: u32) -> AskOptions {
    AskOptions {
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ..Default::default()
    }
}

#[test]
fn only_the_creator_may_cancel_and_cancelling_finishes_the_request() {
    let _g = serial();
    rt().block_on(async {
        let (owner, d) = client().await;
        wait_idle(&d).await;
        let path = request_path(owner.unique_name().unwrap().as_str(), "c1").unwrap();
        let mine = RequestProxy::builder(&owner)
            .path(path.clone())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut events = request_events(&mine).await.unwrap();
        let opts = AskOptions {
            handle_token: Some("c1".into()),
            ..long(400)
        };
        d.start_ask(LONG_QUESTION, &opts.to_dict()).await.unwrap();

        let (stranger, _) = client().await;
        let theirs = RequestProxy::builder(&stranger)
            .path(path.clone())
            .unwrap()
            .build()
            .await
            .unwrap();
        assert_err(theirs.cancel().await, "NotAuthorized", "only the client");

        mine.cancel().await.expect("the creator may cancel");
        let finished = loop {
            match tokio::time::timeout(Duration::from_secs(60), events.next())
                .await
                .expect("Finished comes")
            {
                Some(RequestEvent::Finished(f)) => break f,
                Some(_) => {}
                None => panic!("no Finished"),
            }
        };
        assert_eq!(finished.status, "org.medllm.Daemon1.Error.Cancelled");
        assert!(matches!(finished.result(), Err(Error::Cancelled(_))));
        assert_eq!(
            finished.details().finish_reason.as_deref(),
            Some("cancelled")
        );
        wait_idle(&d).await;
    });
}

#[test]
fn a_client_that_leaves_has_its_streaming_requests_cancelled() {
    let _g = serial();
    rt().block_on(async {
        let (_watcher, d) = client().await;
        let before = wait_idle(&d).await;
        let (leaver, ld) = client().await;
        ld.start_ask(LONG_QUESTION, &long(500).to_dict())
            .await
            .unwrap();
        ld.start_ask(LONG_QUESTION, &long(500).to_dict())
            .await
            .unwrap();
        wait_status(&d, "both requests running", |s| {
            s.active_requests == Some(2)
        })
        .await;
        leaver.close().await.unwrap();
        let after = wait_idle(&d).await;
        assert_eq!(
            after.requests_failed.unwrap(),
            before.requests_failed.unwrap() + 2,
            "both were cancelled"
        );
        assert_eq!(
            after.requests_completed, before.requests_completed,
            "none ran to completion"
        );
    });
}

#[test]
fn a_blocking_ask_is_cancelled_when_its_client_dies() {
    let _g = serial();
    rt().block_on(async {
        let (_watcher, d) = client().await;
        let before = wait_idle(&d).await;
        // gdbus as the client: killed while its Ask is pending.
        let mut gdbus = Command::new("gdbus")
            .args([
                "call",
                "--address",
                shared().bus.address(),
                "--timeout",
                "600",
            ])
            .args([
                "--dest",
                "org.medllm.Daemon1",
                "--object-path",
                "/org/medllm/Daemon1",
            ])
            .args([
                "--method",
                "org.medllm.Daemon1.Ask",
                LONG_QUESTION,
                "{'max_tokens': <uint32 500>}",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gdbus (apt package libglib2.0-bin) runs");
        wait_status(&d, "the blocking request running", |s| {
            s.active_requests == Some(1)
        })
        .await;
        gdbus.kill().unwrap();
        gdbus.wait().unwrap();
        let after = wait_idle(&d).await;
        assert_eq!(
            after.requests_failed.unwrap(),
            before.requests_failed.unwrap() + 1
        );
        assert_eq!(after.requests_completed, before.requests_completed);
    });
}

#[test]
fn a_flood_gets_busy_and_the_service_keeps_answering() {
    let _g = serial();
    rt().block_on(async {
        let (_watcher, d) = client().await;
        wait_idle(&d).await;
        let cfg = &shared().cfg;

        // Requests that ran to an end, once the engine's counters are in the status.
        let ended = |s: &medllm_api::DaemonStatus| Some(s.requests_completed? + s.requests_failed?);

        // One client beyond its own cap.
        let before =
            ended(&wait_status(&d, "engine counters", |s| ended(s).is_some()).await).unwrap();
        let (one_conn, one) = client().await;
        for _ in 0..cfg.max_inflight_per_caller {
            one.start_ask(LONG_QUESTION, &long(300).to_dict())
                .await
                .expect("within the caller's cap");
        }
        let limit = format!("limit {}", cfg.max_inflight_per_caller);
        assert_err(
            one.start_ask(LONG_QUESTION, &long(300).to_dict()).await,
            "Busy",
            &limit,
        );
        one_conn.close().await.unwrap(); // the client leaves: its requests are cancelled
        let n = cfg.max_inflight_per_caller as u64;
        wait_status(&d, "the capped client's requests ended", |s| {
            ended(s) == Some(before + n)
        })
        .await;

        // Many clients beyond the daemon's admission limit.
        let before =
            ended(&wait_status(&d, "engine counters", |s| ended(s).is_some()).await).unwrap();
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(client().await);
        }
        let (mut ok, mut busy) = (0u64, 0);
        for (_, c) in &clients {
            for _ in 0..cfg.max_inflight_per_caller {
                match c.start_ask(LONG_QUESTION, &long(300).to_dict()).await {
                    Ok(_) => ok += 1,
                    Err(Error::Busy(m)) => {
                        assert!(m.contains("busy") || m.contains("limit"), "{m}");
                        busy += 1;
                    }
                    Err(e) => panic!("only Busy is acceptable under a flood, got {e:?}"),
                }
            }
        }
        let admitted = (cfg.max_parallel + cfg.max_queue) as u64;
        assert!(ok >= 1 && ok <= admitted, "{ok} admitted, limit {admitted}");
        assert!(busy >= 1, "the flood got Busy");
        let s = status(&d).await;
        assert!(
            s.active_requests.unwrap() as usize <= cfg.max_parallel,
            "{s:?}"
        );
        for (conn, _) in clients {
            conn.close().await.unwrap();
        }
        wait_status(&d, "the flood's requests ended", |s| {
            ended(s) == Some(before + ok)
        })
        .await;
        wait_idle(&d).await;

        let (answer, _) = d
            .ask(SHORT_QUESTION, &long(8).to_dict())
            .await
            .expect("the daemon answers after the flood");
        assert!(!answer.is_empty());
    });
}
