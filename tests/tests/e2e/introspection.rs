//! The live introspection data matches `api/org.medllm.Daemon1.xml`, so the API cannot change by
//! accident. After an intended change, regenerate the file with
//! `MEDLLM_UPDATE_INTROSPECTION=1 cargo test --release -p medllm-tests --test e2e introspection`.

use medllm_api::{AskOptions, RequestProxy, request_path};
use zbus::fdo::IntrospectableProxy;

use crate::common::*;

/// The `<interface name="…">…</interface>` element of `xml`, as written.
fn raw_interface<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<interface name=\"{name}\">");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("{name} not in:\n{xml}"));
    let end = start + xml[start..].find("</interface>").expect("closed") + "</interface>".len();
    &xml[start..end]
}

/// The same, lines trimmed (indentation is not part of the API).
fn interface(xml: &str, name: &str) -> String {
    raw_interface(xml, name)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn live_introspection_matches_the_shipped_xml() {
    let _g = serial();
    let (main_iface, request_iface) = rt().block_on(async {
        let (conn, d) = client().await;
        let root = IntrospectableProxy::builder(&conn)
            .destination(medllm_api::BUS_NAME)
            .unwrap()
            .path(medllm_api::OBJECT_PATH)
            .unwrap()
            .build()
            .await
            .unwrap();
        let main_xml = root.introspect().await.unwrap();
        let main_iface = raw_interface(&main_xml, medllm_api::INTERFACE).to_string();

        // A request object exists only while its request runs.
        let path = request_path(conn.unique_name().unwrap().as_str(), "introspect").unwrap();
        let opts = AskOptions {
            handle_token: Some("introspect".into()),
            max_tokens: Some(300),
            ..Default::default()
        };
        d.start_ask(LONG_QUESTION, &opts.to_dict()).await.unwrap();
        let req = IntrospectableProxy::builder(&conn)
            .destination(medllm_api::BUS_NAME)
            .unwrap()
            .path(path.clone())
            .unwrap()
            .build()
            .await
            .unwrap();
        let request_xml = req.introspect().await.unwrap();
        let request_iface = raw_interface(&request_xml, medllm_api::REQUEST_INTERFACE).to_string();
        RequestProxy::builder(&conn)
            .path(path)
            .unwrap()
            .build()
            .await
            .unwrap()
            .cancel()
            .await
            .unwrap();
        wait_idle(&d).await;
        (main_iface, request_iface)
    });

    let file = medllm_tests::paths::repo_root().join("api/org.medllm.Daemon1.xml");
    if std::env::var_os("MEDLLM_UPDATE_INTROSPECTION").is_some() {
        // zbus indents the first line less than the rest; normalise to two spaces per level.
        let indent = |s: &str| {
            let body: Vec<&str> = s.lines().collect();
            let base = body
                .get(1)
                .map_or(0, |l| l.len() - l.trim_start().len())
                .saturating_sub(2);
            body.iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        format!("  {}", l.trim())
                    } else {
                        format!("  {}", l.get(base..).unwrap_or(l.trim()))
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let xml = format!(
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n\
             <!-- org.medllm.Daemon1: generated from the running medllmd (tests/tests/e2e/introspection.rs);\n     \
             documented in docs/dbus-api.md. The request interface lives on\n     \
             /org/medllm/Daemon1/request/<sender>/<token>. -->\n<node>\n{}\n{}\n</node>\n",
            indent(&main_iface),
            indent(&request_iface)
        );
        std::fs::write(&file, xml).unwrap();
        eprintln!("updated {}", file.display());
        return;
    }
    let shipped = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        interface(&main_iface, medllm_api::INTERFACE),
        interface(&shipped, medllm_api::INTERFACE),
        "the live org.medllm.Daemon1 differs from {}; if intended, regenerate it (see this file's docs) and update docs/dbus-api.md",
        file.display()
    );
    assert_eq!(
        interface(&request_iface, medllm_api::REQUEST_INTERFACE),
        interface(&shipped, medllm_api::REQUEST_INTERFACE),
        "the live org.medllm.Daemon1.Request differs from {}",
        file.display()
    );
    assert_eq!(
        shipped,
        medllm_api::INTROSPECTION_XML,
        "the api crate embeds the same file"
    );
}
