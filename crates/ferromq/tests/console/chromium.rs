//! End-to-end tests in headless Chromium (Debian's `chromium` + `chromium-driver`, driven
//! over WebDriver): what an operator does with a real browser, cookies, redirects and
//! forms included. Screenshots of each step land in `target/tmp/console-screenshots/`.
//! Skipped, saying so, where Chromium is not installed.

use crate::http::{broker_with_user, generated_password, Api, PASSWORD, USER};
use crate::webdriver::{self, Browser};
use std::time::Duration;
use testkit::{wait_until, TestCluster};

/// Page loads and broker changes after a click must show within this.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a three-node cluster may take to elect a master.
const ELECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// One browser at a time: Chromium opens many ephemeral ports, which must not race the
/// ports a starting broker or cluster reserved; and the machine has few cores.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn chromium_missing() -> bool {
    if webdriver::available() {
        return false;
    }
    eprintln!(
        "SKIPPED: {} or {} not installed (apt-get install chromium chromium-driver)",
        webdriver::CHROMIUM,
        webdriver::CHROMEDRIVER
    );
    true
}

fn log_in(w: &Browser, base: &str, user: &str, password: &str) {
    w.type_into("input[name=user]", user);
    w.type_into("input[name=password]", password);
    w.click("form[action='/login'] button");
    let home = format!("{base}/");
    assert!(
        wait_until(STEP_TIMEOUT, || w.url() == home),
        "login did not reach {home}: {}",
        w.url()
    );
}

/// Log in, create a queue, send a message, browse and view it (escaped), move it to
/// another queue, purge that queue: each step checked through the API.
#[test]
fn operator_flow_in_headless_chromium() {
    if chromium_missing() {
        return;
    }
    let _serial = serial();
    let b = broker_with_user();
    let api = Api::new(&b);
    let base = format!("http://{}", b.console_addr());
    let w = Browser::start();
    eprintln!("--- a page without a session leads to the login form");
    w.goto(&format!("{base}/queues"));
    assert!(w.url().ends_with("/login"), "{}", w.url());
    w.screenshot("operator-01-login");
    log_in(&w, &base, USER, PASSWORD);
    w.screenshot("operator-02-overview");

    eprintln!("--- create a queue");
    w.goto(&format!("{base}/queues"));
    w.type_into(
        "form[method=post][action='/queues'] input[name=name]",
        "e2e.orders",
    );
    w.click("form[method=post][action='/queues'] button");
    assert!(wait_until(STEP_TIMEOUT, || api
        .get("/api/v1/queues/e2e.orders")
        .status
        == 200));

    eprintln!("--- send a message from the queue's page");
    w.click("a[href='/queues/e2e.orders']");
    w.type_into("textarea[name=body]", "hello <b>browser</b>");
    w.click("form[action$='/send'] button");
    assert!(wait_until(STEP_TIMEOUT, || w
        .source()
        .contains("1 messages waiting")));
    w.screenshot("operator-03-queue");

    eprintln!("--- view it: the body is shown as text, not markup");
    w.click("table a[href*='/messages/']");
    assert!(wait_until(STEP_TIMEOUT, || w.url().contains("/messages/")));
    let page = w.source();
    assert!(page.contains("hello &lt;b&gt;browser&lt;/b&gt;"), "{page}");
    assert!(!page.contains("<b>browser</b>"), "{page}");
    w.screenshot("operator-04-message");

    eprintln!("--- move it to another queue");
    w.type_into("input[name=to]", "e2e.archive");
    w.click("form[action$='/move'] button");
    assert!(wait_until(STEP_TIMEOUT, || w
        .url()
        .ends_with("/queues/e2e.archive")));
    assert_eq!(api.get("/api/v1/queues/e2e.orders").json()["pending"], 0);
    assert_eq!(api.get("/api/v1/queues/e2e.archive").json()["pending"], 1);
    w.screenshot("operator-05-moved");

    eprintln!("--- purge it");
    w.click("form[action$='/purge'] button");
    assert!(wait_until(STEP_TIMEOUT, || {
        api.get("/api/v1/queues/e2e.archive").json()["pending"] == 0
    }));
    assert!(wait_until(STEP_TIMEOUT, || w
        .source()
        .contains("0 messages waiting")));
    w.screenshot("operator-06-purged");
}

/// In a three-node cluster, a slave's console shows the cluster page with the master
/// linked, and the link opens the master's console.
#[test]
fn slave_cluster_page_in_headless_chromium() {
    if chromium_missing() {
        return;
    }
    let _serial = serial();
    let cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(ELECTION_TIMEOUT);
    let slave = (0..cluster.len()).find(|i| *i != master).unwrap();
    assert!(wait_until(ELECTION_TIMEOUT, || cluster
        .log(slave)
        .contains("web console started")));
    let password = generated_password(&cluster.log(slave));
    let base = format!("http://{}", cluster.console_addr(slave));
    let master_console = format!("http://{}", cluster.console_addr(master));
    let w = Browser::start();
    w.goto(&format!("{base}/login"));
    log_in(&w, &base, "admin", &password);
    eprintln!("--- the slave's cluster page names and links the master");
    let linked = wait_until(ELECTION_TIMEOUT, || {
        w.goto(&format!("{base}/cluster"));
        w.source().contains("id=\"master-link\"")
    });
    assert!(linked, "{}", w.source());
    assert_eq!(
        w.attribute("#master-link", "href").as_deref(),
        Some(master_console.as_str())
    );
    assert!(w.source().contains("(this node)"));
    w.screenshot("cluster-01-slave");
    eprintln!("--- the link opens the master's console");
    w.click("#master-link");
    assert!(
        wait_until(STEP_TIMEOUT, || w.url().starts_with(&master_console)),
        "{}",
        w.url()
    );
    w.screenshot("cluster-02-master");
}
