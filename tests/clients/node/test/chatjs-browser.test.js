// The ChatJS customer session in real headless Chromium (Debian's /usr/bin/chromium) through
// playwright-core. The page comes from a different origin (its own static server on another
// 127.0.0.1 port), so every participant call is cross-origin and CORS is really exercised.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startServer, connectClient, discover, startChat, REGION } = require('../lib/harness.js');

const ENDED = 'application/vnd.amazonaws.connect.event.chat.ended';
const CHROMIUM = process.env.LIAISON_CHROMIUM || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const inCI = !!process.env.CI;
const skip = !haveChromium && !inCI
  ? `${CHROMIUM} is missing (apt-get install chromium); browser test skipped outside CI`
  : false;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Liaison ChatJS browser test</title>
<script src="/amazon-connect-chat.js"></script>
<script src="/customer-session.js"></script>
</head><body><p>ChatJS customer session test page</p></body></html>`;

function pageServer() {
  const files = {
    '/amazon-connect-chat.js': require.resolve('amazon-connect-chatjs'),
    '/customer-session.js': path.join(__dirname, '..', 'lib', 'customer-session.js'),
  };
  return http.createServer((req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (!files[p]) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
    fs.createReadStream(files[p]).pipe(res);
  });
}

let server;
let pages;

before(async () => {
  if (skip) return;
  server = await startServer('chatjs-browser');
  pages = pageServer();
  await new Promise((r) => pages.listen(0, '127.0.0.1', r));
});

after(async () => {
  if (pages) await new Promise((r) => pages.close(r));
  if (server) await server.stop();
});

test('ChatJS customer session in headless Chromium, cross-origin', { skip, timeout: 120000 }, async () => {
  assert.ok(haveChromium, `${CHROMIUM} is required in CI`);
  const { chromium } = require('playwright-core');
  const client = connectClient(server);
  const ids = await discover(client);
  const chatDetails = await startChat(client, ids, 'Browser Customer');
  const pageUrl = `http://127.0.0.1:${pages.address().port}/`;
  assert.notEqual(new URL(pageUrl).origin, new URL(server.endpoint).origin, 'page and API must be cross-origin');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const consoleLines = [];
  const failed = [];
  const apiRequests = [];
  let r;
  try {
    const page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (q) => failed.push(`${q.method()} ${q.url()} ${q.failure() && q.failure().errorText}`));
    page.on('request', (q) => { if (q.url().startsWith(server.endpoint)) apiRequests.push(`${q.method()} ${new URL(q.url()).pathname}`); });
    await page.goto(pageUrl);
    r = await page.evaluate((args) => window.LiaisonCustomerSession.runFull(args), {
      endpoint: server.endpoint, region: REGION, nodeMode: false, debug: !!process.env.CHATJS_DEBUG,
      chatDetails, text: 'hello from chatjs in chromium',
    });
  } finally {
    await browser.close();
  }
  const ctx = `${JSON.stringify(r, null, 1)}\n--- console ---\n${consoleLines.join('\n')}\n--- failed requests ---\n${failed.join('\n')}`;
  assert.deepEqual(r.errors, [], ctx);
  assert.equal(r.connectSuccess, true, ctx);
  assert.ok(r.events.some((e) => e.name === 'connectionEstablished'), ctx);
  assert.equal(r.established, true, `the WebSocket never reached Established\n${ctx}`);
  assert.equal(r.deepHeartbeat, true, ctx);
  assert.ok(r.messageEcho && r.messageEcho.Id === r.sent.Id, `no message echo\n${ctx}`);
  assert.equal(r.messageEcho.Content, 'hello from chatjs in chromium');
  assert.ok(r.typingEcho, `no typing echo\n${ctx}`);
  assert.equal(r.transcript.InitialContactId, chatDetails.ContactId);
  assert.ok(r.transcript.items.some((i) => i.Id === r.sent.Id), ctx);
  assert.equal(r.ended, true, `onEnded did not fire\n${ctx}`);
  assert.ok(!r.events.some((e) => e.name === 'connectionBroken'), ctx);
  // The server's own chat.ended (not one ChatJS synthesizes after losing the socket and getting a 403).
  const endedMsg = r.events.find((e) => e.name === 'message' && e.item && e.item.ContentType === ENDED);
  assert.ok(endedMsg && endedMsg.item.Id && endedMsg.item.ContactId === chatDetails.ContactId,
    `chat.ended was not pushed by the server\n${ctx}`);
  const lost = r.events.findIndex((e) => e.name === 'connectionLost');
  assert.ok(lost < 0 || lost > r.events.findIndex((e) => e.name === 'ended'), `socket lost before chat.ended\n${ctx}`);
  // The participant calls came from the page itself (cross-origin, with x-amz-bearer and a JSON body, so
  // Chromium had to preflight each of them); the session above only works if CORS is right.
  for (const call of ['POST /participant/connection', 'POST /participant/message', 'POST /participant/event',
    'POST /participant/transcript', 'POST /participant/disconnect']) {
    assert.ok(apiRequests.includes(call), `${call} not sent by the page: ${apiRequests}`);
  }
  assert.deepEqual(failed.filter((f) => f.includes(server.endpoint)), [], ctx);
});
