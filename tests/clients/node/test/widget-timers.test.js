// The demo page's widget in headless Chromium shows the chat timers' notices: a custom bot
// joins, the quiet customer goes idle, comes back by writing, and the bot is disconnected for
// the customer's inactivity. Timer minutes last 300 ms here.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, connectClient, REGION, REPO_ROOT } = require('../lib/harness.js');
const {
  ListInstancesCommand, UpdateParticipantRoleConfigCommand, CreateParticipantCommand,
} = require('@aws-sdk/client-connect');

const CHROMIUM = process.env.LIAISON_CHROMIUM || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const skip = !haveChromium && !process.env.CI
  ? `${CHROMIUM} is missing (apt-get install chromium); browser test skipped outside CI`
  : false;
const SHOTS = path.join(REPO_ROOT, 'target', 'client-test-logs', 'widget-timers');
const MINUTE_MS = 300;

let server;

before(async () => {
  if (skip) return;
  server = await startServer('widget-timers', { timerMinuteMs: MINUTE_MS });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (server) await server.stop();
});

test('the widget shows idle, return and auto-disconnection notices', { skip, timeout: 120000 }, async () => {
  assert.ok(haveChromium, `${CHROMIUM} is required in CI`);
  const client = connectClient(server);
  const instanceId = (await client.send(new ListInstancesCommand({}))).InstanceSummaryList[0].Id;
  const browser = await require('playwright-core').chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    await page.goto(`${server.endpoint}/demo`);
    await page.getByTestId('liaison-widget-launcher').click();
    const pane = page.getByTestId('liaison-widget-pane');
    await page.getByTestId('liaison-widget-message').first().waitFor({ timeout: 15000 });
    const contactId = await pane.getAttribute('data-contact-id');
    assert.ok(contactId, 'the pane names its contact');

    const minutes = (TimerType, m) => ({
      ParticipantRole: 'CUSTOMER', TimerType, TimerValue: { ParticipantTimerDurationInMinutes: m },
    });
    await client.send(new UpdateParticipantRoleConfigCommand({
      InstanceId: instanceId,
      ContactId: contactId,
      ChannelConfiguration: { Chat: { ParticipantTimerConfigList: [minutes('IDLE', 2), minutes('DISCONNECT_NONCUSTOMER', 4)] } },
    }));
    const bot = await client.send(new CreateParticipantCommand({
      InstanceId: instanceId,
      ContactId: contactId,
      ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Helper' },
    }));
    const connected = await fetch(`${server.endpoint}/participant/connection`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-bearer': bot.ParticipantCredentials.ParticipantToken },
      body: JSON.stringify({ Type: ['CONNECTION_CREDENTIALS'], ConnectParticipant: true }),
    });
    assert.equal(connected.status, 200);

    const notice = (text) => page.getByTestId('liaison-widget-notice').filter({ hasText: text });
    await notice('Helper joined the chat').waitFor({ timeout: 10000 });
    await notice('You are idle').waitFor({ timeout: 10000 });
    await shot('idle');
    await page.getByTestId('liaison-widget-input').fill('Still here');
    await page.getByTestId('liaison-widget-input').press('Enter');
    await notice('You are back').waitFor({ timeout: 10000 });
    // Quiet again: idle, then the bot is disconnected for the customer's inactivity.
    await notice('You were inactive for too long').waitFor({ timeout: 20000 });
    await notice('Helper left the chat').waitFor({ timeout: 10000 });
    await shot('auto-disconnection');
  } finally {
    await browser.close();
  }
});
