// The chat widget (web/widget, served by the binary at /widget/loader.js) on a website, in
// headless Chromium (Debian's /usr/bin/chromium, through playwright-core) against the real
// binary. The site is another origin: a small Node server with Connect's snippet shape and a
// /token route signing the widget's JWT. The widget has security on; its flow greets the
// customer with the signed and the page's attributes and answers each message. The customer
// chats, reloads the page (the chat comes back), chats again, meets a custom bot (its notice,
// typing, markdown, read receipts both ways) and ends the chat; a new chat that ends while the
// customer is away is not restored; a page of an origin the widget does not allow gets the
// widget's error instead of a chat.
// Screenshots of each step go to target/client-test-logs/widget/.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startServer, connectClient, REGION, REPO_ROOT, sleep } = require('../lib/harness.js');
const {
  ListInstancesCommand, CreateContactFlowCommand, GetContactAttributesCommand, DescribeContactCommand,
  CreateParticipantCommand, StopContactCommand,
} = require('@aws-sdk/client-connect');
// A dependency of @aws-sdk/client-connect (through @aws-sdk/core), pinned by the lockfile.
const { SignatureV4 } = require('@smithy/signature-v4');

const CHROMIUM = process.env.LIAISON_CHROMIUM || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const inCI = !!process.env.CI;
const skip = !haveChromium && !inCI
  ? `${CHROMIUM} is missing (apt-get install chromium); browser test skipped outside CI`
  : false;
const SHOTS = path.join(REPO_ROOT, 'target', 'client-test-logs', 'widget');

const TYPING = 'application/vnd.amazonaws.connect.event.typing';
const READ = 'application/vnd.amazonaws.connect.event.message.read';
const GREETING = 'Hello Jane, you came from pricing';
const REPLY = 'Thanks, a bot got your message';

// Greets with the site's signed attribute and the page's own, then answers every message.
const FLOW = JSON.stringify({
  Version: '2019-10-30',
  StartAction: 'hello',
  Actions: [
    { Identifier: 'hello', Type: 'MessageParticipant',
      Parameters: { Text: 'Hello $.Attributes.name, you came from $.Attributes.HostedWidget-page' },
      Transitions: { NextAction: 'wait', Errors: [{ NextAction: 'wait', ErrorType: 'NoMatchingError' }] } },
    { Identifier: 'wait', Type: 'Wait', Parameters: { TimeLimitSeconds: '600', Events: ['CustomerReturned'] },
      Transitions: {
        Conditions: [
          { NextAction: 'thanks', Condition: { Operator: 'Equals', Operands: ['CustomerReturned'] } },
          { NextAction: 'end', Condition: { Operator: 'Equals', Operands: ['WaitCompleted'] } },
        ],
        Errors: [{ NextAction: 'end', ErrorType: 'NoMatchingError' }],
      } },
    { Identifier: 'thanks', Type: 'MessageParticipant', Parameters: { Text: REPLY },
      Transitions: { NextAction: 'wait', Errors: [{ NextAction: 'wait', ErrorType: 'NoMatchingError' }] } },
    { Identifier: 'end', Type: 'DisconnectParticipant', Parameters: {}, Transitions: {} },
  ],
});

// node:crypto in the shape @smithy/signature-v4 wants (SHA-256, or HMAC-SHA256 with a secret).
class Sha256 {
  constructor(secret) {
    this.hash = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }

  update(data) {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  }

  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

/** A request to Liaison's admin API, signed like the Connect API (SigV4, service connect). */
async function adminCall(server, method, pathname, body) {
  const url = new URL(pathname, server.endpoint);
  const text = body === undefined ? '' : JSON.stringify(body);
  const signer = new SignatureV4({
    service: 'connect', region: REGION, credentials: server.credentials, sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body: text,
  });
  const headers = { ...signed.headers };
  delete headers.host;
  const r = await fetch(url, { method, headers, body: text || undefined });
  const answer = await r.json().catch(() => null);
  assert.equal(r.status, 200, `${method} ${pathname}: ${r.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** A Participant Service call (X-Amz-Bearer), as a custom bot makes it. */
async function participantCall(server, pathname, bearer, body) {
  const r = await fetch(`${server.endpoint}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-bearer': bearer },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => null);
  assert.equal(r.status, 200, `POST ${pathname}: ${r.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The site's token for the widget: a JWT (HS256) as the site's backend signs it. */
function widgetToken(widgetId, secret, attributes) {
  const now = Math.floor(Date.now() / 1000);
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: widgetId, iat: now, exp: now + 500, attributes })}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function snippetPage(liaison, widgetId) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pricing — Example Shop</title>
<style>
  /* Page styles the widget must not pick up. */
  * { font-family: "Comic Sans MS", cursive !important; color: #c00; }
  button { background: hotpink !important; border: 5px dashed lime !important; }
  body { margin: 0; padding: 3rem; background: #fbfbf8; font: 18px/1.6 Georgia, serif; }
</style>
</head><body>
<h1>Pricing</h1>
<p>Plans for every team. Questions? Chat with us.</p>
<script type="text/javascript">
  (function(w, d, x, id){
    s=d.createElement('script'); s.src='${liaison}/widget/loader.js'; s.async=1; s.id=id;
    d.getElementsByTagName('head')[0].appendChild(s);
    w[x] = w[x] || function() { (w[x].ac = w[x].ac || []).push(arguments) };
  })(window, document, 'amazon_connect', '${widgetId}');
  amazon_connect('styles', { iconType: 'CHAT', openChat: { color: '#ffffff', backgroundColor: '#123456' }, closeChat: { color: '#ffffff', backgroundColor: '#123456' } });
  amazon_connect('snippetId', 'ignored-by-liaison');
  amazon_connect('supportedMessagingContentTypes', ['text/plain', 'text/markdown']);
  amazon_connect('authenticate', function(callback) { fetch('/token').then(r => r.json()).then(d => callback(d.token)); });
  amazon_connect('contactAttributes', { page: 'pricing' });
  amazon_connect('customerDisplayName', function(callback) { callback('Jane'); });
  amazon_connect('customDisplayNames', { transcript: { botMessageDisplayName: 'Bot', systemMessageDisplayName: 'Shop' } });
</script>
</body></html>`;
}

/** The website: the snippet page and the token route. `site.widget` is set once it exists. */
function siteServer(site) {
  return http.createServer((req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(snippetPage(site.liaison, site.widget.id));
    }
    if (p === '/token') {
      site.tokens += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ token: widgetToken(site.widget.id, site.widget.secret, { name: 'Jane' }) }));
    }
    res.writeHead(404);
    return res.end();
  });
}

async function listen(srv) {
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${srv.address().port}`;
}

let server;
let allowedSite;
let otherSite;

before(async () => {
  if (skip) return;
  // Real minutes: the flow's Wait lasts 600 s (the harness default shrinks a minute to 100 ms).
  server = await startServer('widget-browser', { timerMinuteMs: 60000 });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  for (const s of [allowedSite, otherSite]) {
    if (s) await new Promise((r) => s.close(r));
  }
  if (server) await server.stop();
});

test('a website chats through the widget: secure start, attributes, restore after reload, end, foreign origin refused',
  { skip, timeout: 180000 }, async () => {
    assert.ok(haveChromium, `${CHROMIUM} is required in CI`);
    const client = connectClient(server);
    const instanceId = (await client.send(new ListInstancesCommand({}))).InstanceSummaryList[0].Id;
    const flow = await client.send(new CreateContactFlowCommand({
      InstanceId: instanceId, Name: 'Widget greeting', Type: 'CONTACT_FLOW', Content: FLOW,
    }));

    const site = { liaison: server.endpoint, widget: null, tokens: 0 };
    allowedSite = siteServer(site);
    otherSite = siteServer(site);
    const pageOrigin = await listen(allowedSite);
    const otherOrigin = await listen(otherSite);
    assert.notEqual(pageOrigin, server.endpoint);

    const created = await adminCall(server, 'PUT', `/liaison/widgets/${instanceId}`, {
      Name: 'Shop', ContactFlowId: flow.ContactFlowId, AllowedOrigins: [pageOrigin], SecurityEnabled: true,
    });
    assert.ok(created.WidgetId, JSON.stringify(created));
    assert.ok(created.SecurityKey && created.SecurityKey.Secret, JSON.stringify(created));
    site.widget = { id: created.WidgetId, secret: created.SecurityKey.Secret };
    const storageKey = `liaison-widget:${created.WidgetId}`;

    const browser = await require('playwright-core').chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const consoleLines = [];
    const pageErrors = [];
    const widgetCalls = [];
    const ctx = () => `--- browser console ---\n${consoleLines.join('\n')}\n--- page errors ---\n${pageErrors.join('\n')}`;
    let step = 0;
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
      const page = await context.newPage();
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('request', (q) => {
        if (q.url().startsWith(`${server.endpoint}/widget/`)) widgetCalls.push(`${q.method()} ${new URL(q.url()).pathname}`);
      });
      const shot = async (name, p = page) => {
        step += 1;
        await p.screenshot({ path: path.join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`), animations: 'disabled' });
      };
      const pane = page.getByTestId('liaison-widget-pane');
      const message = (role, text) => page.locator(`[data-testid="liaison-widget-message"][data-role="${role}"]`, { hasText: text });
      const stored = () => page.evaluate((k) => JSON.parse(window.localStorage.getItem(k) || 'null'), storageKey);
      const focused = () => page.evaluate(() => {
        const host = document.querySelector('[data-liaison-widget]');
        const el = host && host.shadowRoot.activeElement;
        return el ? el.getAttribute('data-testid') : null;
      });

      await page.goto(`${pageOrigin}/`);
      const launcher = page.getByTestId('liaison-widget-launcher');
      await launcher.waitFor({ timeout: 15000 });
      assert.equal(await launcher.getAttribute('aria-label'), 'Open chat');
      // The snippet's colours reach the launcher; the page's `button { … !important }` does not.
      const look = await launcher.evaluate((el) => {
        const s = getComputedStyle(el);
        return { bg: s.backgroundColor, border: s.borderStyle };
      });
      assert.equal(look.bg, 'rgb(18, 52, 86)', JSON.stringify(look));
      assert.notEqual(look.border, 'dashed', JSON.stringify(look));
      assert.equal(site.tokens, 0, 'no token before the customer opens the chat');
      await shot('launcher');

      // Open: the site signs a token, the chat starts, the flow greets with both attributes.
      await launcher.click();
      await pane.waitFor({ timeout: 10000 });
      assert.equal(await focused(), 'liaison-widget-input', 'the input has the focus when the pane opens');
      const greeting = message('SYSTEM', GREETING);
      await greeting.waitFor({ timeout: 20000 }).catch((e) => { throw new Error(`${e.message}\n${ctx()}`); });
      assert.match(await greeting.innerText(), /Shop/, 'the snippet names the flow\'s messages');
      assert.equal(site.tokens, 1);
      assert.ok(widgetCalls.includes(`GET /widget/${created.WidgetId}/config`), widgetCalls.join('\n'));
      assert.ok(widgetCalls.includes(`POST /widget/${created.WidgetId}/start-chat`), widgetCalls.join('\n'));
      const contactId = await pane.getAttribute('data-contact-id');
      assert.ok(contactId, 'the pane names its contact');
      await shot('greeting');

      // The customer writes (Enter sends); the flow answers.
      const input = page.getByTestId('liaison-widget-input');
      await input.fill('Do you have a plan for 12 seats?');
      await input.press('Enter');
      await message('CUSTOMER', 'Do you have a plan for 12 seats?').waitFor({ timeout: 10000 });
      await message('SYSTEM', REPLY).waitFor({ timeout: 20000 });
      assert.equal(await input.inputValue(), '', 'the input is cleared once sent');
      await shot('conversation');

      // The contact has the signed attribute as it is and the page's under HostedWidget-.
      const attributes = (await client.send(new GetContactAttributesCommand({
        InstanceId: instanceId, InitialContactId: contactId,
      }))).Attributes;
      assert.equal(attributes.name, 'Jane', JSON.stringify(attributes));
      assert.equal(attributes['HostedWidget-page'], 'pricing', JSON.stringify(attributes));
      const saved = await stored();
      assert.equal(saved && saved.chatDetails.ContactId, contactId, JSON.stringify(saved));
      assert.equal(saved.paneOpen, true);

      // Reload: the chat comes back, pane open, with its history, and goes on.
      await page.reload();
      await pane.waitFor({ timeout: 15000 });
      await message('SYSTEM', GREETING).waitFor({ timeout: 15000 });
      await message('CUSTOMER', 'Do you have a plan for 12 seats?').waitFor({ timeout: 15000 });
      await message('SYSTEM', REPLY).waitFor({ timeout: 15000 });
      assert.equal(await pane.getAttribute('data-contact-id'), contactId, 'the same chat after the reload');
      assert.equal(site.tokens, 1, 'a restored chat needs no new start');
      await shot('restored-after-reload');
      await page.getByTestId('liaison-widget-input').fill('And for 20 seats?');
      await page.getByTestId('liaison-widget-send').click();
      await message('CUSTOMER', 'And for 20 seats?').waitFor({ timeout: 10000 });
      for (let i = 0; i < 100 && await message('SYSTEM', REPLY).count() < 2; i += 1) await sleep(100);
      assert.equal(await message('SYSTEM', REPLY).count(), 2, `the flow answered after the reload\n${ctx()}`);
      await shot('restored-conversation');

      // A custom bot joins: its notice, its typing, a markdown message rendered safely, read
      // receipts both ways.
      const customerId = (await stored()).chatDetails.ParticipantId;
      const bot = await client.send(new CreateParticipantCommand({
        InstanceId: instanceId, ContactId: contactId,
        ParticipantDetails: { ParticipantRole: 'CUSTOM_BOT', DisplayName: 'Helper' },
      }));
      const botToken = (await participantCall(server, '/participant/connection',
        bot.ParticipantCredentials.ParticipantToken, { Type: ['CONNECTION_CREDENTIALS'], ConnectParticipant: true }))
        .ConnectionCredentials.ConnectionToken;
      await page.getByTestId('liaison-widget-notice').filter({ hasText: 'Bot joined the chat' }).waitFor({ timeout: 10000 });
      await participantCall(server, '/participant/event', botToken, { ContentType: TYPING, ClientToken: crypto.randomUUID() });
      const typing = page.getByTestId('liaison-widget-typing');
      await typing.waitFor({ timeout: 10000 });
      assert.equal(await typing.innerText(), 'Bot is typing…');
      await shot('bot-typing');
      const botMessage = await participantCall(server, '/participant/message', botToken, {
        ContentType: 'text/markdown', ClientToken: crypto.randomUUID(),
        Content: '**Good news:** the _Team_ plan fits. See [our plans](https://example.com/plans?seats=20&x=1) ' +
          'or [this](javascript:alert(1)) <img src=x onerror="window.pwned=1">\n- Team: `$12`\n- Business',
      });
      const rendered = message('CUSTOM_BOT', 'Good news');
      await rendered.waitFor({ timeout: 10000 });
      await typing.waitFor({ state: 'detached', timeout: 5000 });
      assert.equal(await rendered.locator('strong').innerText(), 'Good news:');
      assert.equal(await rendered.locator('em').innerText(), 'Team');
      assert.equal(await rendered.locator('code').innerText(), '$12');
      assert.equal(await rendered.locator('li').count(), 2);
      const links = rendered.locator('a');
      assert.equal(await links.count(), 1, 'only the https link is a link');
      assert.equal(await links.getAttribute('href'), 'https://example.com/plans?seats=20&x=1');
      assert.equal(await links.getAttribute('target'), '_blank');
      assert.equal(await links.getAttribute('rel'), 'noopener noreferrer');
      assert.equal(await rendered.locator('img').count(), 0, 'HTML in a message is text');
      assert.match(await rendered.innerText(), /<img src=x onerror=/);
      assert.equal(await page.evaluate(() => window.pwned), undefined);
      // The pane is open, so the customer read it: the bot sees the receipt.
      let receipt;
      for (let i = 0; i < 100 && !receipt; i += 1) {
        const t = await participantCall(server, '/participant/transcript', botToken,
          { MaxResults: 100, ScanDirection: 'BACKWARD', SortOrder: 'ASCENDING' });
        receipt = t.Transcript.find((item) => item.Type === 'MESSAGEMETADATA'
          && item.MessageMetadata.MessageId === botMessage.Id
          && item.MessageMetadata.Receipts.some((r) => r.ReadTimestamp && r.RecipientParticipantId === customerId));
        if (!receipt) await sleep(100);
      }
      assert.ok(receipt, `the widget sent no read receipt for the bot's message\n${ctx()}`);
      // The bot reads the customer's latest message: "Read" under it.
      const latest = message('CUSTOMER', 'And for 20 seats?');
      await participantCall(server, '/participant/event', botToken, {
        ContentType: READ, Content: JSON.stringify({ messageId: await latest.getAttribute('data-message-id') }),
        ClientToken: crypto.randomUUID(),
      });
      await latest.getByTestId('liaison-widget-read').waitFor({ timeout: 10000 });
      assert.equal(await page.getByTestId('liaison-widget-read').count(), 1);
      await shot('bot-markdown-and-read-receipt');

      // The customer shares a photo: it shows with its preview, and the bot sees the item.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
      await page.getByTestId('liaison-widget-file-input').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: png });
      const preview = page.getByTestId('liaison-widget-file-preview');
      await preview.waitFor({ timeout: 10000 });
      await page.waitForFunction(() => {
        const host = [...document.querySelectorAll('*')].find((el) => el.shadowRoot);
        const img = host && host.shadowRoot.querySelector('[data-testid="liaison-widget-file-preview"]');
        return img && img.complete && img.naturalWidth === 1;
      }, null, { timeout: 10000 });
      let fileItem;
      for (let i = 0; i < 100 && !fileItem; i += 1) {
        const t = await participantCall(server, '/participant/transcript', botToken, { MaxResults: 100 });
        fileItem = t.Transcript.find((item) => item.Type === 'ATTACHMENT' && item.ParticipantRole === 'CUSTOMER');
        if (!fileItem) await sleep(100);
      }
      assert.ok(fileItem, `the shared file never reached the chat\n${ctx()}`);
      assert.equal(fileItem.Attachments[0].AttachmentName, 'receipt.png');
      await shot('shared-file');

      // On a phone-sized screen the pane takes the whole screen.
      await page.setViewportSize({ width: 390, height: 760 });
      const box = await pane.boundingBox();
      assert.deepEqual(box && [box.x, box.y, box.width, box.height], [0, 0, 390, 760]);
      await shot('narrow-screen');
      await page.setViewportSize({ width: 1280, height: 820 });

      // Escape closes the pane and keeps the chat; the launcher opens it again.
      await page.getByTestId('liaison-widget-input').press('Escape');
      await pane.waitFor({ state: 'detached', timeout: 5000 });
      assert.equal((await stored()).paneOpen, false);
      await launcher.click();
      await pane.waitFor({ timeout: 5000 });
      assert.equal(await message('CUSTOMER', 'And for 20 seats?').count(), 1);

      // The customer ends the chat.
      await page.getByTestId('liaison-widget-end').click();
      await page.getByTestId('liaison-widget-notice').filter({ hasText: 'The chat has ended' }).waitFor({ timeout: 10000 });
      await page.getByTestId('liaison-widget-new-chat').waitFor({ timeout: 5000 });
      assert.equal(await page.getByTestId('liaison-widget-input').count(), 0, 'no input once the chat ended');
      assert.equal(await stored(), null, 'an ended chat is not restored');
      let contact;
      for (let i = 0; i < 50; i += 1) {
        contact = (await client.send(new DescribeContactCommand({ InstanceId: instanceId, ContactId: contactId }))).Contact;
        if (contact.DisconnectTimestamp) break;
        await sleep(100);
      }
      assert.ok(contact.DisconnectTimestamp, `the contact ended: ${JSON.stringify(contact)}`);
      await shot('ended');

      // "Start a new chat": a new contact in the same pane (and a new token from the site).
      await page.getByTestId('liaison-widget-new-chat').click();
      await message('SYSTEM', GREETING).waitFor({ timeout: 20000 });
      const second = await pane.getAttribute('data-contact-id');
      assert.ok(second && second !== contactId, `a new contact: ${second}`);
      assert.equal(site.tokens, 2);
      assert.equal(await message('CUSTOMER', 'And for 20 seats?').count(), 0, 'the new chat starts empty');
      assert.equal((await stored()).chatDetails.ContactId, second);

      // The chat ends while the customer is away from the site: back on it, the widget finds
      // the chat over and shows a fresh launcher.
      await page.goto('about:blank');
      await client.send(new StopContactCommand({ InstanceId: instanceId, ContactId: second }));
      await page.goto(`${pageOrigin}/`);
      await launcher.waitFor({ timeout: 15000 }).catch((e) => { throw new Error(`${e.message}\n${ctx()}`); });
      for (let i = 0; i < 100 && await stored(); i += 1) await sleep(100);
      assert.equal(await stored(), null, 'the ended chat is forgotten');
      assert.equal(await pane.count(), 0, 'no pane for an ended chat');
      assert.equal(await launcher.getAttribute('aria-label'), 'Open chat');
      await shot('fresh-after-chat-ended-elsewhere');

      // A page of an origin the widget does not allow: the widget shows its error, no chat.
      const foreign = await context.newPage();
      foreign.on('console', (m) => consoleLines.push(`foreign ${m.type()}: ${m.text()}`));
      foreign.on('pageerror', (e) => pageErrors.push(`foreign: ${e.message}`));
      await foreign.goto(`${otherOrigin}/`);
      await foreign.getByTestId('liaison-widget-launcher').click({ timeout: 15000 })
        .catch((e) => { throw new Error(`${e.message}\n${ctx()}`); });
      const error = foreign.getByTestId('liaison-widget-error');
      await error.waitFor({ timeout: 15000 });
      assert.match(await error.innerText(), /couldn't start the chat/i);
      assert.equal(await foreign.locator('[data-testid="liaison-widget-message"]').count(), 0);
      let focusedThere = null;
      for (let i = 0; i < 40 && focusedThere !== 'liaison-widget-retry'; i += 1) {
        focusedThere = await foreign.evaluate(() => {
          const el = document.querySelector('[data-liaison-widget]').shadowRoot.activeElement;
          return el ? el.getAttribute('data-testid') : null;
        });
        if (focusedThere !== 'liaison-widget-retry') await sleep(50);
      }
      assert.equal(focusedThere, 'liaison-widget-retry', 'the retry button has the focus');
      await shot('foreign-origin-refused', foreign);

      assert.deepEqual(pageErrors, [], ctx());
    } catch (error) {
      if (error && typeof error.message === 'string' && !error.message.includes('--- browser console ---')) {
        error.message += `\n${ctx()}`;
      }
      throw error;
    } finally {
      await browser.close();
    }
    assert.equal(site.tokens, 2, 'the foreign page never got as far as a token');
  });
