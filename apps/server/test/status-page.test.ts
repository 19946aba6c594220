// The status page in a real headless Chromium (Debian's chromium, driven by playwright-core).
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumPresent } from '@lethe/vitest-config/chromium';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, bearer, openTestService, type TestService, tempDir } from './helpers.js';

describe.skipIf(!chromiumPresent)('status page in headless Chromium (apt package chromium)', () => {
  let t: TestService;
  let url: string;
  beforeAll(async () => {
    t = await openTestService();
    for (const id of [8, 9]) {
      await t.app.inject({
        method: 'POST',
        url: '/v1/deletions',
        headers: bearer(ADMIN),
        payload: { sampleIds: [id], idempotencyKey: `p${id}` },
      });
    }
    await t.service.idle();
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => t.close());

  it('renders budget, requests by state and releases with certificates, with no console error', async () => {
    const profile = await tempDir('lethe-server-chromium-');
    // A fresh profile directory (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const response = await page.goto(`${url}/`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('Lethe deletion service');
      expect(await page.locator('#budget').textContent()).toMatch(
        /spent\s*epsilon [\d.]+.* over 2 release/,
      );
      const states = await page.locator('#requests th').allTextContents();
      const counts = await page.locator('#requests td').allTextContents();
      expect(counts[states.indexOf('done')]).toBe('2');
      const rows = page.locator('#releases tr');
      expect(await rows.count()).toBe(3); // header + 2 releases
      await page.locator('#releases summary').first().click();
      // Opening the details shows the certificate.
      expect(await page.locator('#releases pre').first().isVisible()).toBe(true);
      expect(await page.locator('#releases pre').first().textContent()).toMatch(
        /"format": "lethe-unlearning-certificate"/,
      );
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await profile.remove();
    }
  });
});
