"""Browser tests: Debian's chromium, driven by Playwright, on the real demo."""
import os
import sqlite3
import unittest
from pathlib import Path

from tests.demo_server import ROOT, demo_server

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    ]
SCREENSHOTS = ROOT / 'var' / 'screenshots'


class WebClientTestCase(unittest.TestCase):
    "An admin logs in to sao and works with the demo invoices."

    @classmethod
    def setUpClass(cls):
        "Start the demo server and a headless chromium."
        if not os.path.exists(CHROMIUM):
            raise unittest.SkipTest(
                f"{CHROMIUM} is missing: setup/test installs it as root "
                "(apt-get install chromium)")
        from playwright.sync_api import sync_playwright
        cls.server = demo_server()
        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        "Close the browser."
        cls.browser.close()
        cls.playwright.stop()

    def setUp(self):
        "A fresh browser context per test, with a user-data-dir of its own."
        self.context = self.browser.new_context(viewport={'width': 1400, 'height': 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.console_errors = []
        self.page.on('pageerror', lambda error: self.console_errors.append(str(error)))

    def tearDown(self):
        "Keep a screenshot of where the test ended."
        self.page.screenshot(path=str(SCREENSHOTS / f'{self._testMethodName}.png'))
        self.context.close()

    def login(self, login='admin', password='admin'):
        "Log in through sao's two-step login dialog."
        page = self.page
        page.goto(f'{self.server.url}#{"demo"}')
        page.fill('#login', login)
        page.click('.login-dialog button[type=submit]')
        page.fill('.ask-dialog #ask-dialog-entry[name=password]', password)
        page.click('.ask-dialog .modal-footer button.btn-primary')
        page.wait_for_selector('#user-preferences > a')

    def open_menu(self, *path):
        "Open a menu entry by its path of names, e.g. Financial, Invoices, ..."
        page = self.page
        rows = '#menu tbody tr'
        for name in path[:-1]:
            row = page.locator(rows, has_text=name).first
            row.wait_for()
            expander = row.locator('.expander')
            if expander.count():
                expander.first.click()
        leaf = page.locator(rows, has_text=path[-1]).first
        leaf.locator('div.column-char').first.click()

    def demo_invoices(self):
        "Number -> party of the posted customer invoices of the admin's company."
        with sqlite3.connect(Path(self.server.sqlite_path())) as connection:
            company, = connection.execute(
                "SELECT company FROM res_user WHERE login = 'admin'").fetchone()
            return connection.execute(
                "SELECT i.number, p.name FROM account_invoice i "
                "JOIN party_party p ON p.id = i.party "
                "WHERE i.company = ? AND i.type = 'out' AND i.state != 'draft' "
                "ORDER BY i.id DESC", (company,)).fetchall()

    def test_login_page_served(self):
        "The demo serves the sao login page."
        self.page.goto(self.server.url)
        self.page.wait_for_selector('#login')
        self.assertIn('Tryton', self.page.title())

    def test_admin_opens_customer_invoices(self):
        "The admin logs in, opens Customer Invoices and sees the demo invoices."
        invoices = self.demo_invoices()
        self.assertGreater(len(invoices), 100)
        self.login()
        self.open_menu('Financial', 'Invoices', 'Customer Invoices')
        tab = self.page.locator('#tablist li.active')
        tab.wait_for()
        self.assertIn('Customer Invoices', tab.inner_text())
        pane = self.page.locator('#tabcontent .tab-pane.active')
        pane.locator('a', has_text='Posted').first.click()
        rows = self.page.locator(
            '#tabcontent .tab-pane.active table.tree tbody tr')
        rows.first.wait_for()
        self.assertGreater(rows.count(), 10)
        parties = dict(invoices)
        for index in range(5):
            cells = rows.nth(index).locator('td').all_inner_texts()
            numbers = [c.strip() for c in cells if c.strip() in parties]
            self.assertEqual(len(numbers), 1, cells)
            self.assertIn(parties[numbers[0]], ' '.join(cells))
        self.assertEqual(self.console_errors, [])
