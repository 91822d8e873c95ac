"""The dashboards on the real ZL sample, in headless Chromium, and the ticket rule behind EXECUTE.

Every number the page shows is compared with the api view the assets produced; nothing is
inserted by hand. Screenshots land in test-artifacts/dashboard/ (listed at the end of the run).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from pathlib import Path

import pytest

from mes_assets.dashboard.app import create_app, side_panels
from mes_assets.dashboard.figures import price_figure
from mes_assets.dashboard.pages import CHECKS, FIB_TAGS, MES_PAGE, PROCUREMENT_PAGE
from mes_assets.dashboard.tickets import TicketRefused, read_ticket, record_ticket
from mes_assets.defs.resources import WarehouseResource
from mes_assets_tests.conftest import copy_warehouse
from mes_assets_tests.dashboard.conftest import END, TEST_USER, copy_shared, screenshot

VIEW = PROCUREMENT_PAGE.view
PRIVATE_WORDS = re.compile(r"\b(MES|ES)\b")  # the private instrument and its ES proxy
WAIT_S = 30


def _view(folder: Path) -> list[dict]:
    backend = WarehouseResource(audience="shared", duckdb_dir=str(folder)).get_backend()
    return backend.read(f"SELECT * FROM {VIEW} ORDER BY date").to_dicts()


def _tickets(folder: Path) -> list[dict]:
    backend = WarehouseResource(audience="shared", duckdb_dir=str(folder)).get_backend()
    return backend.read("SELECT * FROM signals.procurement_tickets ORDER BY requested_at").to_dicts()


def _figure(driver) -> dict:
    """The price chart as Plotly holds it in the page (traces' names, x, y; the layout)."""
    return json.loads(
        driver.execute_script(
            "const el = document.querySelector('#price-chart .js-plotly-plot');"
            "if (!el || !el.data) return 'null';"
            "return JSON.stringify({data: el.data.map(t => ({name: t.name, x: t.x, y: t.y, yaxis: t.yaxis,"
            " hovertemplate: t.hovertemplate})), layout: el.layout});"
        )
    )


def _wait(driver, predicate, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(
        lambda d: predicate(d), message=f"timed out waiting for {what}"
    )


def _trace_names(driver) -> list[str]:
    figure = _figure(driver)
    return [t["name"] for t in figure["data"]] if figure else []


def _open(driver, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: "ZL close" in _trace_names(d), "the price chart")


# -- no browser -------------------------------------------------------------------------------


def test_each_app_refuses_the_other_audience_before_touching_it(tmp_path: Path) -> None:
    private = WarehouseResource(audience="private", duckdb_dir=str(tmp_path))
    shared = WarehouseResource(audience="shared", duckdb_dir=str(tmp_path))
    with pytest.raises(ValueError, match="reads the shared warehouse only"):
        create_app(PROCUREMENT_PAGE, private)
    with pytest.raises(ValueError, match="reads the private warehouse only"):
        create_app(MES_PAGE, shared)
    assert list(tmp_path.iterdir()) == []  # neither file was opened (DuckDB creates it on open)


def test_mes_app_is_separate_read_only_and_says_when_its_view_is_empty(tmp_path: Path) -> None:
    app = create_app(MES_PAGE, WarehouseResource(audience="private", duckdb_dir=str(tmp_path)))
    layout = app.server.test_client().get("/_dash-layout").get_data(as_text=True)
    assert "api.vw_mes_private_overlay holds no rows yet" in layout
    assert "EXECUTE" not in layout and "ticket" not in layout.lower()  # procurement-only
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".duckdb") == ["private.duckdb"]
    assert MES_PAGE.default_port != PROCUREMENT_PAGE.default_port


@pytest.mark.slow
def test_tickets_first_press_wins_under_concurrent_presses(zl_warehouse: Path, tmp_path: Path) -> None:
    folder = copy_shared(zl_warehouse, tmp_path / "warehouse")
    backend = WarehouseResource(audience="shared", duckdb_dir=str(folder)).ensure_schema()
    rows = _view(folder)
    last = rows[-1]
    assert last["date"] == END and last["verdict"] is not None
    results, barrier = [], threading.Barrier(6)

    def press(i: int) -> None:
        barrier.wait()
        results.append(record_ticket(backend, last, user=f"user-{i}"))

    threads = [threading.Thread(target=press, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = _tickets(folder)
    assert len(stored) == 1 and sum(r.created for r in results) == 1
    winner = next(r.ticket for r in results if r.created)
    assert all(r.ticket == stored[0] == winner for r in results)
    assert stored[0]["ticket_id"] == f"ZL-{END}" and stored[0]["verdict"] == last["verdict"]
    assert stored[0]["checks_passed"] == last["checks_passed"] and stored[0]["ref_close"] == last["close"]
    # a session without a stored checklist has no decision to record
    early = next(r for r in rows if r["verdict"] is None)
    with pytest.raises(TicketRefused, match="no checklist"):
        record_ticket(backend, early, user="someone")
    assert read_ticket(backend, early["date"], "ZL") is None


@pytest.mark.slow
def test_gamma_walls_and_uncalibrated_badges_from_the_real_mes_stand_in(
    tmp_path: Path, mes_gamma_2023_06_23: tuple[Path, object]
) -> None:
    """ZL has no options data, so walls are drawn from the one real gamma row the sample has: MES's
    SPX stand-in of 2023-06-23 (no MES bars that day, so the MES view has no row for it; the row
    below is that gamma_summary row projected onto the view's columns, values untouched)."""
    day = dt.date(2023, 6, 23)
    # drivers 06-01..day, MES sessions and features 06-20..day, options -> GEX -> gamma on day
    copy_warehouse(mes_gamma_2023_06_23[0], tmp_path)
    private = WarehouseResource(audience="private", duckdb_dir=str(tmp_path)).get_backend()
    gamma = private.read(
        "SELECT date, symbol, spot AS close, zero_gamma, wall_1, wall_2, p_reject_wall_1, p_reject_wall_2, "
        "status AS gamma_status FROM derivatives.gamma_summary WHERE aggregation = 'weighted'"
    )
    assert gamma.height == 1
    row = gamma.row(0, named=True)
    assert row["wall_1"] is not None and row["p_reject_wall_1"] is None  # uncalibrated: no guessed alpha
    figure = price_figure(gamma, MES_PAGE, day, show_fib=False)
    traces = {t.name: list(t.y) for t in figure.data}
    assert traces["Gamma wall 1"] == [row["wall_1"]]
    for column, name in (("zero_gamma", "Zero gamma"), ("wall_2", "Gamma wall 2")):
        assert (name in traces) == (row[column] is not None)
    badges = [a.text for a in figure.layout.annotations]
    assert f"Gamma wall 1 {row['wall_1']:,.2f} · uncalibrated" in badges
    panel = str(side_panels(row, MES_PAGE, day))  # the components' repr holds their text
    assert f"Wall 1: {row['wall_1']:,.2f} · uncalibrated" in panel and row["gamma_status"] in panel
    assert "Zero gamma: " + ("n/a" if row["zero_gamma"] is None else f"{row['zero_gamma']:,.2f}") in panel


# -- headless Chromium ------------------------------------------------------------------------


@pytest.mark.slow
def test_procurement_page_loads_with_the_views_real_data(procurement_server, browser) -> None:
    _open(browser, procurement_server.url)
    view = _view(procurement_server.warehouse_dir)
    last = view[-1]
    names = _trace_names(browser)
    assert {"ZL close", "1w pinball band", "1m pinball band", "1w P50", "1m P50"} <= set(names)
    assert {"VIX force", "Yield force", "Trump/Policy force", "COT force"} <= set(names)
    figure = _figure(browser)
    close = next(t for t in figure["data"] if t["name"] == "ZL close")
    assert close["x"][-1][:10] == last["date"].isoformat() and close["y"][-1] == pytest.approx(last["close"])
    p90 = next(t for t in figure["data"] if t["name"] == "1w pinball band")
    assert p90["y"][-1] == pytest.approx(last["band_1w_p90"])
    vix = next(t for t in figure["data"] if t["name"] == "VIX force")
    assert vix["yaxis"] == "y2" and vix["y"][-1] == pytest.approx(1e4 * last["shap_vix_ema"])
    assert figure["layout"]["yaxis2"]["range"][1] == pytest.approx(1e4 * last["plot_scale"])
    assert "contributed" in vix["hovertemplate"] and "bps to P50" in vix["hovertemplate"]
    body = browser.find_element("tag name", "body").text
    assert f"VIX contributed {1e4 * last['shap_vix']:+.0f} bps to P50" in body
    # six lights, each the view's value for the as-of date
    for column, _ in CHECKS:
        light = browser.find_element("id", f"light-{column}")
        state = light.get_attribute("class").split("light-")[-1]
        raw = last[column]
        expected = (
            "na"
            if raw is None
            else {"aggressive": "pass", "partial": "warn"}.get(raw, "fail")
            if column == "check_budget_risk"
            else "pass"
            if raw
            else "fail"
        )
        assert state == expected, column
    verdict = browser.find_element("id", "verdict").text
    assert f"{last['checks_passed']}/6 checks" in verdict and f"tranche {last['tranche_pct']:.0f}%" in verdict
    assert last["rationale"] and last["rationale"] in body
    # ZL has no options data: the gamma overlay is absent and says n/a, nothing is drawn for it
    assert last["zero_gamma"] is None and "Zero gamma: n/a" in body
    assert not {"Zero gamma", "Gamma wall 1", "Gamma wall 2"} & set(names)
    screenshot(browser, "procurement_default")


@pytest.mark.slow
def test_as_of_date_from_the_url_shows_nothing_after_that_session(procurement_server, browser) -> None:
    view = _view(procurement_server.warehouse_dir)
    earlier = view[-3]
    browser.get(f"{procurement_server.url}?date={earlier['date']}")
    _wait(
        browser,
        lambda d: (
            (_figure(d) or {}).get("data")
            and next(t for t in _figure(d)["data"] if t["name"] == "ZL close")["x"][-1][:10]
            == earlier["date"].isoformat()
        ),
        "the chart as of the URL's date",
    )
    close = next(t for t in _figure(browser)["data"] if t["name"] == "ZL close")
    assert close["y"][-1] == pytest.approx(earlier["close"])
    assert f"Gamma ({earlier['date']})" in browser.find_element("tag name", "body").text


@pytest.mark.slow
def test_fib_ladder_checkbox_starts_off_and_shows_the_ladder_with_tap_probabilities(
    procurement_server, browser
) -> None:
    _open(browser, procurement_server.url)
    last = _view(procurement_server.warehouse_dir)[-1]
    checkbox = browser.find_element("css selector", "#fib-toggle input[type=checkbox]")
    assert not checkbox.is_selected()
    assert not [n for n in _trace_names(browser) if n.startswith("Fib ")]
    assert "Fib 61.8%" not in browser.find_element("tag name", "body").text
    checkbox.click()
    _wait(browser, lambda d: any(n.startswith("Fib ") for n in _trace_names(d)), "the Fib ladder")
    rungs = {t["name"]: t["y"][0] for t in _figure(browser)["data"] if t["name"].startswith("Fib ")}
    expected = {f"Fib {label}": last[tag] for tag, label in FIB_TAGS if last[tag] is not None}
    assert expected and rungs == pytest.approx(expected)
    badges = " ".join(a["text"] for a in _figure(browser)["layout"]["annotations"])
    taps = f"tap 1w {100 * last['tap_1w_fib_618']:.0f}% · 1m {100 * last['tap_1m_fib_618']:.0f}%"
    assert f"Fib 61.8% {last['fib_618']:.2f} · {taps}" in badges
    screenshot(browser, "procurement_fib_on")
    checkbox.click()
    _wait(browser, lambda d: not any(n.startswith("Fib ") for n in _trace_names(d)), "the ladder to hide")


@pytest.mark.slow
def test_execute_pressed_three_times_records_exactly_one_ticket(procurement_server, browser) -> None:
    folder = procurement_server.warehouse_dir
    assert _tickets(folder) == []
    _open(browser, procurement_server.url)
    last = _view(folder)[-1]
    status = browser.find_element("id", "ticket-status")
    _wait(browser, lambda d: "No procurement ticket" in status.text, "the empty ticket status")
    button = browser.find_element("id", "execute")
    assert button.is_enabled()
    button.click()
    _wait(browser, lambda d: f"recorded by {TEST_USER}" in status.text, "the first ticket")
    first = _tickets(folder)
    for _ in range(2):
        button.click()
        _wait(browser, lambda d: "Already recorded" in status.text, "the repeat press")
    stored = _tickets(folder)
    assert len(stored) == 1 and stored == first  # later presses leave it unchanged
    ticket = stored[0]
    assert ticket["date"] == last["date"] == END and ticket["symbol"] == "ZL"
    assert ticket["requested_by"] == TEST_USER and ticket["verdict"] == last["verdict"]
    assert ticket["tranche_pct"] == last["tranche_pct"]
    assert abs(ticket["requested_at"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert ticket["requested_at"].strftime("%Y-%m-%d %H:%M:%S UTC") in status.text
    screenshot(browser, "procurement_ticket")
    browser.refresh()  # shown back on the page after a reload
    _open(browser, procurement_server.url)
    status = browser.find_element("id", "ticket-status")
    _wait(browser, lambda d: f"Ticket ZL-{END}" in status.text and TEST_USER in status.text, "the stored ticket")


@pytest.mark.slow
def test_procurement_page_never_shows_the_private_instrument(procurement_server, browser) -> None:
    _open(browser, procurement_server.url)
    browser.find_element("css selector", "#fib-toggle input[type=checkbox]").click()
    _wait(browser, lambda d: any(n.startswith("Fib ") for n in _trace_names(d)), "the Fib ladder")
    layout = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];fetch('/_dash-layout').then(r => r.text()).then(done);"
    )
    loaded = {
        "page text": browser.find_element("tag name", "body").text,
        "title": browser.title,
        "chart data": json.dumps(_figure(browser)),
        "layout data": layout,
    }
    for what, text in loaded.items():
        assert not PRIVATE_WORDS.findall(text), f"{what} mentions {PRIVATE_WORDS.findall(text)[:3]}"
    assert {r["symbol"] for r in _view(procurement_server.warehouse_dir)} == {"ZL"}
    # network-free: every resource the page loaded came from the dashboard itself
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert urls and all(u.startswith(procurement_server.url) for u in urls), urls
    # the procurement process never opened (so never created) the private warehouse file
    assert not (procurement_server.warehouse_dir / "private.duckdb").exists()
    screenshot(browser, "procurement_privacy_scan")
