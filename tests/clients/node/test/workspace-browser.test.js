// The agent workspace in headless Chromium (Debian's /usr/bin/chromium, through playwright-core)
// against the real binary, with a ChatJS customer in Node: the customer's chat is queued by a
// flow that sets the after-contact-work guide; the agent signs in, goes Available, accepts,
// sees the customer's attributes, exchanges messages both ways, ends the chat, completes the
// guide with a disposition, and the disposition lands on the customer contact.
// Screenshots of each step go to target/client-test-logs/workspace/.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, connectClient, REGION, REPO_ROOT, sleep } = require('../lib/harness.js');
const {
  ListInstancesCommand, ListQueuesCommand, CreateContactFlowCommand, StartChatContactCommand,
  GetContactAttributesCommand,
} = require('@aws-sdk/client-connect');
const { session: cs } = require('../lib/chatjs-node.js');

const CHROMIUM = process.env.LIAISON_CHROMIUM || '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const inCI = !!process.env.CI;
const skip = !haveChromium && !inCI
  ? `${CHROMIUM} is missing (apt-get install chromium); browser test skipped outside CI`
  : false;
const ADMIN_PASSWORD = 'Workspace-Test-1';
const SEED_PAGE = path.join(REPO_ROOT, '..', 'shared', 'seeds', '004_7c6449a3943628ab.txt');
const SHOTS = path.join(REPO_ROOT, 'target', 'client-test-logs', 'workspace');

// AWS's sample after-contact-work guide flow, verbatim from the page that specifies it.
function afterContactWorkFlow() {
  const page = fs.readFileSync(SEED_PAGE, 'utf8');
  const version = page.indexOf('"Version"');
  const start = page.lastIndexOf('{', version);
  return page.slice(start, page.lastIndexOf('}') + 1);
}

let server;

before(async () => {
  if (skip) return;
  server = await startServer('workspace-browser', {
    timerMinuteMs: 60000,
    env: { LIAISON_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  cs.configure({ endpoint: server.endpoint, region: REGION, nodeMode: true });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (server) await server.stop();
});

test('an agent takes a chat in the workspace, talks, and completes the after-contact-work guide',
  { skip, timeout: 180000 }, async () => {
    assert.ok(haveChromium, `${CHROMIUM} is required in CI`);
    const client = connectClient(server);
    const instanceId = (await client.send(new ListInstancesCommand({}))).InstanceSummaryList[0].Id;
    const queues = await client.send(new ListQueuesCommand({ InstanceId: instanceId }));
    const basicQueue = queues.QueueSummaryList.find((q) => q.Name === 'BasicQueue').Id;
    const guide = await client.send(new CreateContactFlowCommand({
      InstanceId: instanceId, Name: 'Sample after contact work flow', Type: 'CONTACT_FLOW',
      Content: afterContactWorkFlow(),
    }));
    const inbound = await client.send(new CreateContactFlowCommand({
      InstanceId: instanceId, Name: 'Queue with a wrap-up guide', Type: 'CONTACT_FLOW',
      Content: JSON.stringify({
        Version: '2019-10-30',
        StartAction: 'hooks',
        Actions: [
          { Identifier: 'hooks', Type: 'UpdateContactEventHooks',
            Parameters: { EventHooks: { DisconnectAgentUI: guide.ContactFlowArn } },
            Transitions: { NextAction: 'queue', Errors: [{ NextAction: 'end', ErrorType: 'NoMatchingError' }] } },
          { Identifier: 'queue', Type: 'UpdateContactTargetQueue', Parameters: { QueueId: basicQueue },
            Transitions: { NextAction: 'transfer', Errors: [{ NextAction: 'end', ErrorType: 'NoMatchingError' }] } },
          { Identifier: 'transfer', Type: 'TransferContactToQueue', Parameters: {},
            Transitions: { Errors: [{ NextAction: 'end', ErrorType: 'QueueAtCapacity' },
              { NextAction: 'end', ErrorType: 'NoMatchingError' }] } },
          { Identifier: 'end', Type: 'DisconnectParticipant', Parameters: {}, Transitions: {} },
        ],
      }),
    }));

    const browser = await require('playwright-core').chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const consoleLines = [];
    let customer;
    let step = 0;
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      const shot = async (name) => {
        step += 1;
        await page.screenshot({ path: path.join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
      };
      const ctx = () => `--- browser console ---\n${consoleLines.join('\n')}`;

      await page.goto(`${server.endpoint}/workspace/`);
      await page.getByTestId('signin-username').fill('admin');
      await page.getByTestId('signin-password').fill(ADMIN_PASSWORD);
      await shot('sign-in');
      await page.getByTestId('signin-submit').click();
      const status = page.getByTestId('status-select');
      await status.waitFor({ timeout: 10000 });
      await status.selectOption({ label: 'Available' });
      await shot('available');

      // The customer starts a chat with ChatJS; the flow queues it on BasicQueue.
      const started = await client.send(new StartChatContactCommand({
        InstanceId: instanceId, ContactFlowId: inbound.ContactFlowId,
        ParticipantDetails: { DisplayName: 'Jane Doe' },
        Attributes: { plan: 'gold', orderId: 'A-1042' },
      }));
      const chatDetails = {
        ContactId: started.ContactId, ParticipantId: started.ParticipantId,
        ParticipantToken: started.ParticipantToken,
      };
      customer = cs.open({ chatDetails, region: REGION });
      const connected = await cs.connectAndEstablish(customer);
      assert.equal(connected.established, true, 'the customer socket is established');

      const offer = page.getByTestId('offer-card');
      await offer.waitFor({ timeout: 15000 });
      assert.match(await offer.innerText(), /Jane Doe/);
      await shot('offer');
      await page.getByTestId('offer-accept').click();

      const joined = await customer.waitEvent('message',
        (i) => i && i.ContentType === 'application/vnd.amazonaws.connect.event.participant.joined'
          && i.ParticipantRole === 'AGENT', 15000);
      assert.ok(joined, `the customer never saw the agent join\n${ctx()}`);
      assert.equal(joined.item.DisplayName, 'Liaison Admin');

      // The contact's attributes, as the widget or the API set them.
      const attributes = page.getByTestId('attributes-panel');
      await attributes.waitFor({ timeout: 10000 });
      await page.locator('[data-testid="attribute-row"][data-key="plan"]').waitFor({ timeout: 10000 });
      assert.match(await page.locator('[data-testid="attribute-row"][data-key="plan"]').innerText(), /gold/);
      assert.match(await page.locator('[data-testid="attribute-row"][data-key="orderId"]').innerText(), /A-1042/);

      // Customer → agent.
      await customer.session.sendMessage({ contentType: 'text/plain', message: 'My order never arrived' });
      await page.locator('[data-testid="message"][data-participant-role="CUSTOMER"]', { hasText: 'My order never arrived' })
        .waitFor({ timeout: 10000 });
      // The customer typing shows in the workspace.
      await customer.session.sendEvent({ contentType: cs.TYPING });
      await page.getByTestId('typing-indicator').waitFor({ timeout: 10000 });
      // Agent → customer.
      await page.getByTestId('composer-input').fill('Sorry about that, let me check.');
      await page.getByTestId('composer-send').click();
      const reply = await customer.waitEvent('message',
        (i) => i && i.ParticipantRole === 'AGENT' && i.Content === 'Sorry about that, let me check.', 10000);
      assert.ok(reply, `the agent's message never reached the customer\n${ctx()}`);
      await page.locator('[data-testid="message"][data-participant-role="AGENT"]', { hasText: 'let me check' })
        .waitFor({ timeout: 10000 });
      // The customer's read receipt shows under the agent's message.
      await customer.session.sendEvent({
        contentType: 'application/vnd.amazonaws.connect.event.message.read',
        content: JSON.stringify({ messageId: reply.item.Id }),
      });
      await page.getByTestId('read-receipt').waitFor({ timeout: 10000 });
      await shot('conversation');

      // Files both ways: the customer's photo shows in the workspace with a preview; the
      // agent's document reaches the customer, whose ChatJS downloads it.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
      await customer.session.sendAttachment({ attachment: new File([png], 'photo.png', { type: 'image/png' }) });
      await page.getByTestId('attachment-preview').waitFor({ timeout: 10000 });
      await page.waitForFunction(() => {
        const img = document.querySelector('[data-testid="attachment-preview"]');
        return img && img.complete && img.naturalWidth === 1;
      }, null, { timeout: 10000 });
      await page.getByTestId('composer-file').setInputFiles({
        name: 'receipt.txt', mimeType: 'text/plain', buffer: Buffer.from('Refund issued for A-1042'),
      });
      let sharedByAgent;
      for (let i = 0; i < 100 && !sharedByAgent; i += 1) {
        const items = (await customer.session.getTranscript({ maxResults: 50, sortOrder: 'ASCENDING' })).data.Transcript;
        sharedByAgent = items.find((item) => item.Type === 'ATTACHMENT' && item.ParticipantRole === 'AGENT');
        if (!sharedByAgent) await sleep(100);
      }
      assert.ok(sharedByAgent, `the agent's file never reached the customer\n${ctx()}`);
      const received = await customer.session.downloadAttachment({ attachmentId: sharedByAgent.Attachments[0].AttachmentId });
      assert.equal(await received.text(), 'Refund issued for A-1042');
      await page.locator('[data-testid="attachment"]', { hasText: 'receipt.txt' }).waitFor({ timeout: 10000 });
      await shot('attachments');

      // The agent ends the chat: after-contact work with the guide.
      await page.getByTestId('end-chat').click();
      const ended = await customer.waitEvent('message',
        (i) => i && i.ContentType === cs.LEFT && i.ParticipantRole === 'AGENT', 10000);
      assert.ok(ended, `the customer never saw the agent leave\n${ctx()}`);
      const guidePane = page.getByTestId('guide-pane');
      await guidePane.waitFor({ timeout: 15000 });
      await shot('after-contact-work-guide');
      await page.getByTestId('acw-category').selectOption({ label: 'Billing' });
      await page.getByTestId('acw-summary').fill('Order A-1042 re-shipped.');
      await page.getByTestId('guide-action-Submit').click();

      // The disposition lands on the customer contact (the guide's "Related" contact).
      let stored;
      for (let i = 0; i < 100; i += 1) {
        stored = (await client.send(new GetContactAttributesCommand({
          InstanceId: instanceId, InitialContactId: started.ContactId,
        }))).Attributes;
        if (stored.Category) break;
        await sleep(100);
      }
      assert.equal(stored.Category, 'Billing', `${JSON.stringify(stored)}\n${ctx()}`);
      assert.equal(stored.ModifiedSummary, 'Order A-1042 re-shipped.');
      assert.equal(stored.plan, 'gold', 'the contact keeps its other attributes');
      await shot('guide-submitted');

      // A reload during after-contact work keeps the contact and its conversation.
      await page.reload();
      await page.locator('[data-testid="message"][data-participant-role="CUSTOMER"]', { hasText: 'My order never arrived' })
        .waitFor({ timeout: 10000 });
      await shot('reloaded-in-after-contact-work');

      await page.getByTestId('clear-contact').click();
      await page.getByTestId('chat-tab').waitFor({ state: 'detached', timeout: 10000 });
      await shot('cleared');
    } finally {
      if (customer) {
        try { await customer.session.disconnectParticipant(); } catch (_) { /* the chat may be over */ }
      }
      await browser.close();
    }
  });
