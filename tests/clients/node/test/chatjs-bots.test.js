// A custom bot (CUSTOM_BOT) driven by boto3 talks to a real amazon-connect-chatjs 5.0.0 customer
// session under Node, and the chat timers of UpdateParticipantRoleConfig reach ChatJS's callbacks.
//
// The bot is lib/boto3_bot.py, run with the repository's venv python (LIAISON_PYTHON, default
// <repo>/.venv/bin/python; scripts/test.sh creates the venv): boto3 `connect` signed with the
// server's admin keys for CreateParticipant, `connectparticipant` for everything else.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { startServer, connectClient, discover, startChat, REGION, REPO_ROOT } = require('../lib/harness.js');
const { UpdateParticipantRoleConfigCommand } = require('@aws-sdk/client-connect');
const { session: cs } = require('../lib/chatjs-node.js');

const JOINED = 'application/vnd.amazonaws.connect.event.participant.joined';
const LEFT = 'application/vnd.amazonaws.connect.event.participant.left';
const TYPING = 'application/vnd.amazonaws.connect.event.typing';
const METADATA = 'application/vnd.amazonaws.connect.event.message.metadata';

// One timer minute lasts 1.2 s here: 2-minute timers take 2.4 s, and a custom participant's
// 15-second connection window lasts 300 ms.
const MINUTE_MS = 1200;
// Generous waits: every one is a ceiling, not a sleep.
const WAIT_MS = 10000;

const PYTHON = process.env.LIAISON_PYTHON || path.join(REPO_ROOT, '.venv', 'bin', 'python');
const BOT_SCRIPT = path.join(__dirname, '..', 'lib', 'boto3_bot.py');

// ------------------------------------------------------------------------------------------------
// The boto3 bot process: one JSON command per line in, one JSON answer per command out.

function startBot(server) {
  if (!fs.existsSync(PYTHON)) {
    throw new Error(`no python at ${PYTHON}: create the venv (python3 -m venv .venv && ` +
      '.venv/bin/pip install -r tests/clients/requirements.txt) or set LIAISON_PYTHON');
  }
  const proc = spawn(PYTHON, [BOT_SCRIPT], {
    env: {
      ...process.env,
      LIAISON_ENDPOINT: server.endpoint,
      LIAISON_ACCESS_KEY_ID: server.credentials.accessKeyId,
      LIAISON_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      LIAISON_REGION: REGION,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const pending = new Map();
  let nextId = 1;
  let exited = null;
  let onReady;
  let onReadyFailed;
  const ready = new Promise((resolve, reject) => { onReady = resolve; onReadyFailed = reject; });
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch (_) { stderr += `[not JSON on stdout] ${line}\n`; return; }
    if (msg.ready) return onReady();
    const p = pending.get(msg.id);
    if (p) { pending.delete(msg.id); p(msg); }
  });
  proc.on('exit', (code, signal) => {
    exited = { code, signal };
    const why = new Error(`the boto3 bot exited (${JSON.stringify(exited)})\n${stderr}`);
    onReadyFailed(why);
    for (const p of pending.values()) p({ ok: false, error: { code: 'BotExited', message: why.message } });
    pending.clear();
  });

  const bot = {
    ready,
    stderr: () => stderr,
    // Resolves with the answer ({ok, result} or {ok: false, error}); never rejects.
    call(op, args = {}, ms = WAIT_MS) {
      if (exited) return Promise.resolve({ ok: false, error: { code: 'BotExited', message: stderr } });
      const id = nextId++;
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          pending.delete(id);
          resolve({ ok: false, error: { code: 'Timeout', message: `no answer to ${op} within ${ms} ms` } });
        }, ms);
        pending.set(id, (msg) => { clearTimeout(t); resolve(msg); });
        proc.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
      });
    },
    // Like call, but fails the test unless the command succeeded; returns its result.
    async do(op, args = {}) {
      const r = await bot.call(op, args);
      assert.ok(r.ok, `boto3 bot ${op} ${JSON.stringify(args)} failed: ${JSON.stringify(r.error)}\n${stderr}`);
      return r.result;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.stdin.end();
      const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 5000);
      await gone;
      clearTimeout(t);
    },
  };
  return bot;
}

// ------------------------------------------------------------------------------------------------
// A ChatJS customer session with a recorder for every callback the tests look at. Items are kept
// whole (receipts need MessageMetadata), and waits resolve on the callback itself.

function clone(v) {
  try { return JSON.parse(JSON.stringify(v === undefined ? null : v)); } catch (_) { return null; }
}

async function openCustomer(chatDetails) {
  const h = cs.open({ chatDetails, region: REGION });
  const events = [];
  const waiters = new Set();
  const record = (name) => (e) => {
    const ev = { name, t: Date.now(), seq: events.length, item: clone(e && e.data) };
    events.push(ev);
    for (const w of [...waiters]) w(ev);
  };
  const s = h.session;
  s.onMessage(record('message'));
  s.onTyping(record('typing'));
  s.onReadReceipt(record('read'));
  s.onDeliveredReceipt(record('delivered'));
  s.onParticipantIdle(record('idle'));
  s.onParticipantReturned(record('returned'));
  s.onAutoDisconnection(record('autodisconnection'));
  s.onEnded(record('ended'));
  s.onConnectionLost(record('connectionLost'));
  s.onConnectionBroken(record('connectionBroken'));

  const customer = {
    session: s,
    events,
    status: () => h.status(),
    // The first event named `name` (after index `from`) whose item satisfies `pred`.
    find(name, pred, from = 0) {
      return events.find((ev) => ev.seq >= from && ev.name === name && (!pred || pred(ev.item || {})));
    },
    wait(name, pred, { from = 0, ms = WAIT_MS } = {}) {
      const found = customer.find(name, pred, from);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const w = (ev) => {
          if (ev.seq >= from && ev.name === name && (!pred || pred(ev.item || {}))) done(ev);
        };
        const t = setTimeout(() => done(null), ms);
        function done(v) { clearTimeout(t); waiters.delete(w); resolve(v); }
        waiters.add(w);
      });
    },
    dump() {
      return JSON.stringify(events.map((ev) => ({ name: ev.name, dt: ev.t - events[0].t, item: ev.item })), null, 1);
    },
  };
  const c = await cs.connectAndEstablish(h);
  assert.equal(c.connectSuccess, true, 'ChatJS connect() failed');
  assert.equal(c.established, true, 'the ChatJS WebSocket never reached Established');
  return customer;
}

// ------------------------------------------------------------------------------------------------

let server;
let client;
let ids;
const bots = [];
const customers = [];

before(async () => {
  server = await startServer('chatjs-bots', { timerMinuteMs: MINUTE_MS });
  client = connectClient(server);
  ids = await discover(client);
  cs.configure({ endpoint: server.endpoint, region: REGION, nodeMode: true, debug: !!process.env.CHATJS_DEBUG });
});

after(async () => {
  for (const c of customers) {
    if (!c.find('ended')) await c.session.disconnectParticipant().catch(() => {});
  }
  for (const b of bots) await b.stop();
  if (server) await server.stop();
});

async function newBot() {
  const bot = startBot(server);
  bots.push(bot);
  await bot.ready;
  return bot;
}

async function newCustomer(displayName) {
  const chatDetails = await startChat(client, ids, displayName);
  const customer = await openCustomer(chatDetails);
  customers.push(customer);
  return { chatDetails, customer };
}

async function customerSends(customer, text) {
  const r = await customer.session.sendMessage({ contentType: 'text/plain', message: text });
  const id = r && r.data && r.data.Id;
  assert.ok(id, `ChatJS sendMessage returned no Id: ${JSON.stringify(r && r.data)}`);
  return id;
}

// The bot joins; ChatJS sees its participant.joined in onMessage.
async function joinBot(bot, customer, chatDetails, displayName) {
  const joined = await bot.do('join', { InstanceId: ids.instanceId, ContactId: chatDetails.ContactId, DisplayName: displayName });
  assert.ok(joined.ParticipantId && joined.ConnectionToken, JSON.stringify(joined));
  const ev = await customer.wait('message', (i) => i.ContentType === JOINED && i.ParticipantId === joined.ParticipantId);
  assert.ok(ev, `the bot's participant.joined did not reach onMessage\n${customer.dump()}`);
  assert.equal(ev.item.ParticipantRole, 'CUSTOM_BOT');
  assert.equal(ev.item.DisplayName, displayName);
  assert.equal(ev.item.Type, 'EVENT');
  return joined;
}

test('a boto3 custom bot talks to a ChatJS customer: join, message, typing, receipts, leave',
  { timeout: 90000 }, async (t) => {
    const { chatDetails, customer } = await newCustomer('Bot Customer');
    const bot = await newBot();
    const joined = await joinBot(bot, customer, chatDetails, 'Order bot');
    t.diagnostic(`CreateParticipant ${joined.createMs} ms, CreateParticipantConnection ${joined.connectMs} ms`);
    const botId = joined.ParticipantId;

    // The bot's message reaches onMessage.
    const sent = await bot.do('message', { text: 'Hi, I am the order bot. How can I help?' });
    const msg = await customer.wait('message', (i) => i.Id === sent.Id);
    assert.ok(msg, `the bot's message did not reach onMessage\n${customer.dump()}`);
    assert.equal(msg.item.Type, 'MESSAGE');
    assert.equal(msg.item.ContentType, 'text/plain');
    assert.equal(msg.item.Content, 'Hi, I am the order bot. How can I help?');
    assert.equal(msg.item.ParticipantRole, 'CUSTOM_BOT');
    assert.equal(msg.item.ParticipantId, botId);
    assert.equal(msg.item.DisplayName, 'Order bot');
    assert.equal(msg.item.ContactId, chatDetails.ContactId);
    assert.equal(msg.item.AbsoluteTime, sent.AbsoluteTime);

    // The bot's typing reaches onTyping.
    await bot.do('typing');
    const typing = await customer.wait('typing', (i) => i.ParticipantId === botId);
    assert.ok(typing, `the bot's typing did not reach onTyping\n${customer.dump()}`);
    assert.equal(typing.item.ContentType, TYPING);
    assert.equal(typing.item.ParticipantRole, 'CUSTOM_BOT');
    assert.equal(typing.item.Type, 'EVENT');

    // Receipts are about a message the customer sent: ChatJS shows them to the message's author
    // (it drops those whose recipient is itself).
    const asked = await customerSends(customer, 'Where is my order?');
    assert.ok(await customer.wait('message', (i) => i.Id === asked), `no echo of the customer's message\n${customer.dump()}`);

    const delivered = await bot.do('receipt', { kind: 'delivered', messageId: asked });
    assert.ok(delivered.Id, JSON.stringify(delivered));
    const d = await customer.wait('delivered', (i) => i.MessageMetadata && i.MessageMetadata.MessageId === asked);
    assert.ok(d, `the bot's delivered receipt did not reach onDeliveredReceipt\n${customer.dump()}`);
    assert.equal(d.item.Type, 'MESSAGEMETADATA');
    assert.equal(d.item.ContentType, METADATA);
    const dr = d.item.MessageMetadata.Receipts[0];
    assert.equal(dr.RecipientParticipantId, botId);
    assert.ok(dr.DeliveredTimestamp, JSON.stringify(dr));
    assert.equal(dr.ReadTimestamp, undefined, `a delivered receipt has no ReadTimestamp: ${JSON.stringify(dr)}`);

    const read = await bot.do('receipt', { kind: 'read', messageId: asked });
    assert.ok(read.Id, JSON.stringify(read));
    const r = await customer.wait('read', (i) => i.MessageMetadata && i.MessageMetadata.MessageId === asked);
    assert.ok(r, `the bot's read receipt did not reach onReadReceipt\n${customer.dump()}`);
    assert.equal(r.item.Type, 'MESSAGEMETADATA');
    const rr = r.item.MessageMetadata.Receipts[0];
    assert.equal(rr.RecipientParticipantId, botId);
    assert.ok(rr.ReadTimestamp, JSON.stringify(rr));
    assert.ok(!customer.find('message', (i) => i.Type === 'MESSAGEMETADATA'),
      `receipts went to onMessage\n${customer.dump()}`);

    // boto3 parses the transcript the bot reads: both messages, the bot's joining.
    const transcript = await bot.do('transcript');
    assert.equal(transcript.InitialContactId, chatDetails.ContactId);
    const items = transcript.Transcript;
    const byId = (id) => items.find((i) => i.Id === id);
    assert.ok(byId(sent.Id) && byId(sent.Id).ParticipantRole === 'CUSTOM_BOT', JSON.stringify(items, null, 1));
    assert.ok(byId(asked) && byId(asked).ParticipantRole === 'CUSTOMER', JSON.stringify(items, null, 1));
    assert.ok(items.some((i) => i.ContentType === JOINED && i.ParticipantId === botId), JSON.stringify(items, null, 1));

    // The bot leaves: participant.left reaches onMessage, the chat goes on.
    const beforeLeave = customer.events.length;
    await bot.do('disconnect');
    const left = await customer.wait('message', (i) => i.ContentType === LEFT && i.ParticipantId === botId, { from: beforeLeave });
    assert.ok(left, `the bot's participant.left did not reach onMessage\n${customer.dump()}`);
    assert.equal(left.item.ParticipantRole, 'CUSTOM_BOT');
    const after = await customerSends(customer, 'Hello? Anyone?');
    assert.ok(await customer.wait('message', (i) => i.Id === after), `no echo after the bot left\n${customer.dump()}`);
    assert.ok(!customer.find('ended'), `onEnded fired although only the bot left\n${customer.dump()}`);
    assert.equal(customer.status(), 'Established');
    const gone = await bot.call('message', { text: 'still here?' });
    assert.equal(gone.ok, false, 'a bot that left can no longer send');
    assert.equal(gone.error.code, 'AccessDeniedException', JSON.stringify(gone.error));
  });

test('chat timers reach ChatJS: idle, returned, idle again, auto-disconnection of the bot',
  { timeout: 120000 }, async (t) => {
    const { chatDetails, customer } = await newCustomer('Quiet Customer');
    const minutes = (TimerType, m) => ({
      ParticipantRole: 'CUSTOMER', TimerType, TimerValue: { ParticipantTimerDurationInMinutes: m },
    });
    await client.send(new UpdateParticipantRoleConfigCommand({
      InstanceId: ids.instanceId,
      ContactId: chatDetails.ContactId,
      ChannelConfiguration: { Chat: { ParticipantTimerConfigList: [minutes('IDLE', 2), minutes('DISCONNECT_NONCUSTOMER', 2)] } },
    }));
    const bot = await newBot();
    const joinedAt = Date.now();
    const joined = await joinBot(bot, customer, chatDetails, 'Timer bot');
    t.diagnostic(`CreateParticipant ${joined.createMs} ms, CreateParticipantConnection ${joined.connectMs} ms`);
    const botId = joined.ParticipantId;
    const me = chatDetails.ParticipantId;
    const two = 2 * MINUTE_MS;

    // Quiet customer: idle 2 (timer) minutes after the bot joined.
    const idle = await customer.wait('idle', (i) => i.ParticipantId === me, { ms: two + WAIT_MS });
    assert.ok(idle, `onParticipantIdle did not fire\n${customer.dump()}`);
    assert.equal(idle.item.ParticipantRole, 'CUSTOMER');
    assert.ok(idle.t - joinedAt >= two - 200, `idle after ${idle.t - joinedAt} ms, expected about ${two}`);

    // A message brings the customer back.
    const backAt = Date.now();
    const text = await customerSends(customer, 'Sorry, I am back');
    const returned = await customer.wait('returned', (i) => i.ParticipantId === me, { from: idle.seq });
    assert.ok(returned, `onParticipantReturned did not fire after sendMessage\n${customer.dump()}`);
    assert.equal(returned.item.ParticipantRole, 'CUSTOMER');
    assert.ok(await customer.wait('message', (i) => i.Id === text), `no echo of the customer's message\n${customer.dump()}`);

    // Quiet again: idle after 2 minutes, auto-disconnection 2 minutes later; the bot leaves.
    const idle2 = await customer.wait('idle', (i) => i.ParticipantId === me, { from: returned.seq, ms: two + WAIT_MS });
    assert.ok(idle2, `onParticipantIdle did not fire a second time\n${customer.dump()}`);
    assert.ok(idle2.t - backAt >= two - 200, `second idle after ${idle2.t - backAt} ms, expected about ${two}`);
    const auto = await customer.wait('autodisconnection', null, { from: idle2.seq, ms: two + WAIT_MS });
    assert.ok(auto, `onAutoDisconnection did not fire\n${customer.dump()}`);
    assert.equal(auto.item.ParticipantRole, 'CUSTOMER');
    assert.equal(auto.item.ParticipantId, me);
    assert.ok(auto.t - idle2.t >= two - 200, `auto-disconnection ${auto.t - idle2.t} ms after idle, expected about ${two}`);
    const left = await customer.wait('message', (i) => i.ContentType === LEFT && i.ParticipantId === botId, { from: idle2.seq });
    assert.ok(left, `the bot's participant.left did not reach onMessage\n${customer.dump()}`);
    assert.equal(left.item.ParticipantRole, 'CUSTOM_BOT');
    assert.equal(customer.events.filter((e) => e.name === 'idle').length, 2, `two idle events expected\n${customer.dump()}`);

    t.diagnostic(`idle ${idle.t - joinedAt} ms after the join, idle again ${idle2.t - backAt} ms after the ` +
      `customer's message, auto-disconnection ${auto.t - idle2.t} ms after that (timer minute ${MINUTE_MS} ms)`);

    // The customer's session goes on.
    assert.ok(!customer.find('ended'), `onEnded fired after the auto-disconnection\n${customer.dump()}`);
    assert.equal(customer.status(), 'Established');
    const still = await customerSends(customer, 'Is anyone there?');
    assert.ok(await customer.wait('message', (i) => i.Id === still), `no echo after the auto-disconnection\n${customer.dump()}`);
    assert.ok(!customer.find('ended'), `onEnded fired\n${customer.dump()}`);
    assert.ok(!customer.find('connectionBroken') && !customer.find('connectionLost'), customer.dump());
    const gone = await bot.call('message', { text: 'me too' });
    assert.equal(gone.ok, false, 'an auto-disconnected bot can no longer send');
    assert.equal(gone.error.code, 'AccessDeniedException', JSON.stringify(gone.error));
  });
