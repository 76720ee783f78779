//! `[auth] ask_polkit = true`: polkit's `org.medllm.daemon1.ask` decides who may use the question
//! methods (`Ask`, `StartAsk`, `Classify`), asked about the caller; without polkit the bus policy
//! alone governs them again. Runs clients as test accounts, so it needs root (skipped otherwise).

use medllm_api::OBJECT_PATH;
use medllm_tests::DaemonConfig;

use crate::admin::rt_mt;
use crate::admin_polkit::MockPolkit;
use crate::common::serial;
use crate::policy_env::*;

const ALLOWED_USER: &str = "medllm-t-asker";
const REFUSED_USER: &str = "medllm-t-nonask";

fn ask(who: &Who, address: &str) -> std::process::Command {
    gdbus_call(
        who,
        address,
        OBJECT_PATH,
        "org.medllm.Daemon1.Ask",
        &[
            "What is a fever?",
            "{'max_tokens': <uint32 8>, 'temperature': <0.0>}",
        ],
    )
}

#[test]
fn ask_polkit_lets_polkit_decide_the_question_methods() {
    if skip_unless_root("ask_polkit_lets_polkit_decide_the_question_methods") {
        return;
    }
    let _g = serial();
    let mut acc = Accounts::default();
    let allowed = acc.user(ALLOWED_USER, &[]).unwrap();
    let refused = acc.user(REFUSED_USER, &[]).unwrap();
    let bus = Bus::start(&BusPolicy::Open).expect("private bus");
    bus.remove_dir_at_exit().expect("temp dir");
    let spec = DaemonSpec {
        cfg: DaemonConfig::default(),
        extra_toml: "[auth]\nask_polkit = true\n".to_string(),
        user: None,
        env: Vec::new(),
        log_level: "info",
    };
    let mut daemon = spawn_daemon(&bus, &spec, "ask-polkit").expect("medllmd starts");
    daemon.wait_ready(bus.address()).expect("medllmd ready");
    let address = bus.address().to_string();
    rt_mt().block_on(async {
        let mock = MockPolkit::start(&address, &[allowed.uid]).await;

        let o = output(ask(&allowed, &address)).await;
        assert!(o.status.success(), "polkit allowed it: {}", o.text());
        assert!(o.out.contains("completion_tokens"), "{}", o.out);
        let c = mock.checks().last().cloned().expect("polkit was asked");
        assert_eq!(c.action, medllm_api::ACTION_ASK, "{c:?}");
        assert_eq!(c.uid, Some(allowed.uid), "asked about the caller: {c:?}");

        let o = output(ask(&refused, &address)).await;
        assert!(!o.status.success(), "{REFUSED_USER} got an answer");
        assert!(
            o.err.contains("org.medllm.Daemon1.Error.NotAuthorized")
                && o.err
                    .contains("polkit does not allow org.medllm.daemon1.ask"),
            "{}",
            o.text()
        );
        let c = mock.checks().last().cloned().unwrap();
        assert_eq!(c.uid, Some(refused.uid), "{c:?}");
        let o = output(gdbus_call(
            &refused,
            &address,
            OBJECT_PATH,
            "org.medllm.Daemon1.Classify",
            &["What is a fever?", ""],
        ))
        .await;
        assert!(
            o.err.contains("org.medllm.Daemon1.Error.NotAuthorized"),
            "Classify is a question method too: {}",
            o.text()
        );

        // polkit leaves: the bus policy (open here) decides the question methods alone.
        mock.stop().await;
        crate::admin_polkit::wait_until_no_polkit(&address).await;
        let o = output(ask(&refused, &address)).await;
        assert!(o.status.success(), "without polkit: {}", o.text());
    });
    daemon.signal("TERM");
}
