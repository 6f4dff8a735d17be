// amazon-connect-chatjs 5.0.0 shares and downloads a file under Node against a real Liaison:
// sendAttachment (StartAttachmentUpload, a PUT to the upload URL, CompleteAttachmentUpload),
// the ATTACHMENT item on the socket, then downloadAttachment (GetAttachment + GET).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, connectClient, discover, startChat, REGION } = require('../lib/harness.js');
const { session: cs } = require('../lib/chatjs-node.js');

let server;
let client;
let ids;

before(async () => {
  server = await startServer('chatjs-attachments');
  client = connectClient(server);
  ids = await discover(client);
  cs.configure({ endpoint: server.endpoint, region: REGION, nodeMode: true, debug: !!process.env.CHATJS_DEBUG });
});

after(async () => {
  if (server) await server.stop();
});

test('ChatJS sendAttachment and downloadAttachment round trip', { timeout: 60000 }, async () => {
  const chatDetails = await startChat(client, ids, 'File Sender');
  const h = cs.open({ chatDetails, region: REGION });
  const connected = await cs.connectAndEstablish(h);
  assert.equal(connected.established, true, JSON.stringify(h.events));

  const text = 'Order 1234: two blue mugs.\n'.repeat(200);
  const file = new File([text], 'order notes.txt', { type: 'text/plain' });
  await h.session.sendAttachment({ attachment: file });

  const shared = await h.waitEvent('message', (item) => item.Type === 'ATTACHMENT', 8000);
  assert.ok(shared, `no ATTACHMENT item reached onMessage\n${JSON.stringify(h.events, null, 1)}`);
  const transcript = await h.session.getTranscript({ maxResults: 50, sortOrder: 'ASCENDING' });
  const item = transcript.data.Transcript.find((i) => i.Type === 'ATTACHMENT');
  assert.ok(item, JSON.stringify(transcript.data));
  const [attachment] = item.Attachments;
  assert.equal(attachment.AttachmentName, 'order notes.txt');
  assert.equal(attachment.ContentType, 'text/plain');
  assert.equal(attachment.Status, 'APPROVED');

  const blob = await h.session.downloadAttachment({ attachmentId: attachment.AttachmentId });
  assert.equal(await blob.text(), text);
  const url = await h.session.getAttachmentURL({ attachmentId: attachment.AttachmentId });
  assert.ok(url.startsWith(server.endpoint), url);
  await h.session.disconnectParticipant();
});
