//! The dashboard in a real headless Chromium, driven over `WebDriver` by
//! Debian's `chromedriver`: an operator signs in with a token, watches a
//! failing check turn green, starts a procedure, confirms its step and sees
//! the output arrive. Every wait is `WebDriver`'s own wait for an element or
//! a condition, never a sleep.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::serve::{Served, token_entry};
use crate::servers::free_port;

const TOKEN: &str = "olga-browser-token-7Hq2Lm9Xc4Vb";

/// `chromedriver` on a port of its own, killed when dropped.
struct Driver {
    port: u16,
    child: Child,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/setup installs chromium-driver)");
        // It says so on stdout once it listens.
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        let mut line = String::new();
        while !line.contains("started successfully") {
            line.clear();
            assert!(stdout.read_line(&mut line).expect("chromedriver's output") > 0, "chromedriver exited");
        }
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Driver { port, child }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--no-first-run", "--disable-extensions"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runbook(port: u16) -> String {
    format!(
        "---\nrunbook: shop\n---\n# Shop API\n\nThe shop's API listens on a port of its own.\n\n\
         ```checks\n- name: api-port\n  layer: App\n  tcp: 127.0.0.1:{port}\n```\n\n\
         ## Restart the API\n\nRestart it, then look.\n\n\
         ```sh {{confirm=\"restart the shop API?\"}}\nfor i in 1 2 3; do echo \"restarting part $i\"; done\n```\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_signs_in_watches_a_check_recover_and_runs_a_procedure() {
    // Nothing listens on the check's port yet: the check fails.
    let closed = free_port();
    let served = Served::start(
        &[("shop.md", &runbook(closed))],
        &format!(
            "[scheduler]\ninterval = \"1s\"\nfail_threshold = 1\nsuccess_threshold = 1\njitter = 0.0\n{}",
            token_entry("olga", "admin", TOKEN)
        ),
    );
    let driver = Driver::start();
    let browser = driver.browser().await;
    let outcome = drive(&browser, &served, closed).await;
    let _ = browser.close().await;
    if let Err(error) = outcome {
        panic!("{error}\nserver log:\n{}", served.logs());
    }
    assert!(!served.logs().contains(TOKEN), "the token reached the log");
}

async fn drive(browser: &Client, served: &Served, closed: u16) -> Result<(), Box<dyn std::error::Error>> {
    let wait = Duration::from_secs(30);
    browser.goto(&served.url("/")).await?;
    let token = browser.wait().at_most(wait).for_element(Locator::Css("input#token")).await?;
    token.send_keys(TOKEN).await?;
    browser.find(Locator::Css("form.login button[type=submit]")).await?.click().await?;

    // Signed in, the overview shows the check failing...
    let row = "tr[data-runbook='shop'][data-check='api-port']";
    browser.wait().at_most(wait).for_element(Locator::Css(&format!("{row} .state.critical"))).await?;
    let header = browser.find(Locator::Css("header.top")).await?.text().await?;
    assert!(header.contains("signed in as olga (admin)"), "{header}");
    save(browser, "overview-failing").await;

    // ...and, without a reload, turns green once something listens.
    let listener = TcpListener::bind(("127.0.0.1", closed))?;
    browser.wait().at_most(wait).for_element(Locator::Css(&format!("{row} .state.ok"))).await?;
    save(browser, "overview").await;

    // The runbook page: the document, its live checks and the run form.
    browser.goto(&served.url("/runbooks/shop")).await?;
    browser.wait().at_most(wait).for_element(Locator::Css("aside tr[data-check='api-port'] .state.ok")).await?;
    let article = browser.find(Locator::Css("article.doc")).await?.text().await?;
    assert!(article.contains("The shop's API listens on a port of its own."), "{article}");
    save(browser, "runbook").await;
    browser.find(Locator::Css("#start button[type=submit]")).await?.click().await?;

    // The run page asks the runbook's question; confirming runs the step.
    let yes = browser.wait().at_most(wait).for_element(Locator::Css("#question-form button[type=submit]")).await?;
    let prompt = browser.find(Locator::Css("#question-prompt")).await?.text().await?;
    assert_eq!(prompt, "restart the shop API?");
    let shown = browser.find(Locator::Css("#question-shown")).await?.text().await?;
    assert!(shown.contains("restarting part $i"), "{shown}");
    save(browser, "run-waiting").await;
    yes.click().await?;

    browser.wait().at_most(wait).for_element(Locator::Css("#status.succeeded")).await?;
    // Step 1 is the runbook's checks block, a gate; step 2 the restart.
    let output = browser.find(Locator::Css("#step-2 pre.output")).await?.text().await?;
    assert_eq!(output, "restarting part 1\nrestarting part 2\nrestarting part 3");
    let timeline = browser.find(Locator::Css("#timeline")).await?.text().await?;
    assert!(timeline.contains("confirmed by olga"), "{timeline}");
    assert!(timeline.contains("check api-port: ok"), "{timeline}");
    save(browser, "run").await;
    drop(listener);
    Ok(())
}

/// With `RUNWELL_SCREENSHOTS=DIR`, keeps what the browser shows as
/// `DIR/NAME.png`: how the screenshots in `docs/` are made.
async fn save(browser: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("RUNWELL_SCREENSHOTS") {
        let png = browser.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).expect("the screenshot is saved");
    }
}
