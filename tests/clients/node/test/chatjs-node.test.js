// amazon-connect-chatjs 5.0.0 customer sessions under plain Node, against a real Liaison server.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, connectClient, discover, startChat, REGION } = require('../lib/harness.js');
const {
  DescribeContactCommand, StopContactCommand, StartChatContactCommand,
} = require('@aws-sdk/client-connect');
const { session: cs } = require('../lib/chatjs-node.js');

// onEnded also fires when ChatJS *invents* a chat.ended: after the socket drops, a reconnect that gets
// 403 from CreateParticipantConnection makes it synthesize one (empty Id, no ContactId). Require the
// real thing: the server's own chat.ended item, pushed over the open socket.
function assertServerEnded(events, chatDetails, ctx) {
  const endedAt = events.findIndex((e) => e.name === 'ended');
  const msg = events.find((e) => e.name === 'message' && e.item && e.item.ContentType === cs.ENDED);
  assert.ok(msg, `chat.ended did not reach onMessage\n${ctx}`);
  assert.ok(msg.item.Id && msg.item.ContactId === chatDetails.ContactId,
    `the chat.ended ChatJS saw was not pushed by the server (ChatJS synthesized it after losing the socket)\n${ctx}`);
  const lost = events.findIndex((e) => e.name === 'connectionLost');
  assert.ok(lost < 0 || lost > endedAt, `the socket was lost before chat.ended arrived\n${ctx}`);
}

let server;
let client;
let ids;

before(async () => {
  server = await startServer('chatjs-node');
  client = connectClient(server);
  ids = await discover(client);
  cs.configure({ endpoint: server.endpoint, region: REGION, nodeMode: true, debug: !!process.env.CHATJS_DEBUG });
});

after(async () => {
  if (server) await server.stop();
});

test('ChatJS customer session: connect, message, typing, transcript, leave', { timeout: 60000 }, async () => {
  const chatDetails = await startChat(client, ids, 'Node Customer');
  const r = await cs.runFull({
    endpoint: server.endpoint, region: REGION, nodeMode: true, debug: !!process.env.CHATJS_DEBUG,
    chatDetails, text: 'hello from chatjs in node',
  });
  const ctx = JSON.stringify(r, null, 1);
  assert.deepEqual(r.errors, [], ctx);
  assert.equal(r.connectSuccess, true, ctx);
  assert.ok(r.events.some((e) => e.name === 'connectionEstablished'), `onConnectionEstablished did not fire\n${ctx}`);
  assert.equal(r.established, true, `the WebSocket never reached Established\n${ctx}`);
  assert.equal(r.deepHeartbeat, true, `aws/ping was not answered with statusCode 200\n${ctx}`);

  assert.ok(r.sent.Id, ctx);
  assert.ok(r.messageEcho, `sendMessage was not echoed over the socket\n${ctx}`);
  assert.equal(r.messageEcho.Content, 'hello from chatjs in node');
  assert.equal(r.messageEcho.ContentType, 'text/plain');
  assert.equal(r.messageEcho.ParticipantRole, 'CUSTOMER');
  assert.equal(r.messageEcho.ParticipantId, chatDetails.ParticipantId);
  assert.equal(r.messageEcho.DisplayName, 'Node Customer');
  assert.equal(r.messageEcho.ContactId, chatDetails.ContactId);
  assert.equal(r.messageEcho.InitialContactId, chatDetails.ContactId);

  assert.ok(r.typingEcho, `typing was not echoed over the socket\n${ctx}`);
  assert.equal(r.typingEcho.Type, 'EVENT');

  assert.equal(r.transcript.InitialContactId, chatDetails.ContactId);
  const tIds = r.transcript.items.map((i) => i.Id);
  assert.ok(tIds.includes(r.sent.Id), `transcript lacks the message\n${ctx}`);
  assert.ok(!r.transcript.items.some((i) => i.ContentType === cs.TYPING), 'typing is not in the transcript');
  assert.ok(r.transcript.items.some((i) => i.ContentType && i.ContentType.endsWith('participant.joined')),
    `transcript lacks participant.joined\n${ctx}`);

  assert.equal(r.ended, true, `onEnded did not fire after disconnectParticipant\n${ctx}`);
  const names = r.afterLeave.map((e) => e.ContentType || e.name);
  const left = names.indexOf(cs.LEFT);
  const ended = names.indexOf('ended');
  assert.ok(left >= 0 && left < ended, `participant.left should arrive before onEnded: ${names}`);
  assert.ok(!r.events.some((e) => e.name === 'connectionBroken'), `onConnectionBroken fired\n${ctx}`);
  assertServerEnded(r.events, chatDetails, ctx);
});

test('StopContact from the backend ends the ChatJS session', { timeout: 60000 }, async () => {
  const chatDetails = await startChat(client, ids, 'Stopped Customer');
  const h = cs.open({ chatDetails, region: REGION });
  const c = await cs.connectAndEstablish(h);
  assert.equal(c.connectSuccess, true);
  assert.equal(c.established, true, 'the WebSocket never reached Established');

  await client.send(new StopContactCommand({ InstanceId: ids.instanceId, ContactId: chatDetails.ContactId }));
  const ended = await h.waitEvent('ended', null, 5000);
  const ctx = JSON.stringify(h.events, null, 1);
  assert.ok(ended, `onEnded did not fire after StopContact\n${ctx}`);
  assertServerEnded(h.events, chatDetails, ctx);

  // The JS SDK is strict about timestamp shapes (epoch seconds): this also checks DescribeContact's encoding.
  const d = await client.send(new DescribeContactCommand({ InstanceId: ids.instanceId, ContactId: chatDetails.ContactId }));
  assert.equal(d.Contact.Channel, 'CHAT');
  assert.equal(d.Contact.InitiationMethod, 'API');
  assert.ok(d.Contact.InitiationTimestamp instanceof Date && !isNaN(d.Contact.InitiationTimestamp));
  assert.ok(d.Contact.DisconnectTimestamp instanceof Date && !isNaN(d.Contact.DisconnectTimestamp));
  assert.ok(d.Contact.DisconnectTimestamp >= d.Contact.InitiationTimestamp);
  assert.ok(Math.abs(Date.now() - d.Contact.DisconnectTimestamp.getTime()) < 60000);
});

test('@aws-sdk/client-connect parses Liaison errors into modeled exceptions', { timeout: 30000 }, async () => {
  await assert.rejects(
    client.send(new DescribeContactCommand({ InstanceId: ids.instanceId, ContactId: '00000000-0000-4000-8000-000000000000' })),
    (e) => {
      assert.equal(e.name, 'ResourceNotFoundException');
      assert.equal(e.$metadata.httpStatusCode, 404);
      assert.ok(e.$metadata.requestId, 'request id parsed from x-amzn-RequestId');
      assert.ok(e.message);
      return true;
    });
  const badKey = connectClient(server, { credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'wrong' } });
  await assert.rejects(
    badKey.send(new StartChatContactCommand({ InstanceId: ids.instanceId, ContactFlowId: ids.flowId,
      ParticipantDetails: { DisplayName: 'x' } })),
    (e) => {
      assert.ok(['InvalidSignatureException', 'UnrecognizedClientException'].includes(e.name), e.name);
      assert.equal(e.$metadata.httpStatusCode, 403);
      return true;
    });
});
