// Starts and stops a Liaison server for one test file, and talks to its Connect API with
// @aws-sdk/client-connect. The binary is built by scripts/test.sh; override with LIAISON_BIN.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

// SDK v3 warns on Node < 22 about releases after January 2027; versions are pinned by the lockfile.
if (!process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
const {
  ConnectClient, ListInstancesCommand, ListContactFlowsCommand, CreateContactFlowCommand, StartChatContactCommand,
} = require('@aws-sdk/client-connect');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const REGION = 'us-east-1';

function liaisonBin() {
  const p = process.env.LIAISON_BIN || 'target/debug/liaison';
  return path.isAbsolute(p) ? p : path.join(REPO_ROOT, p);
}

function logDir() {
  const d = process.env.LIAISON_TEST_LOG_DIR || path.join(REPO_ROOT, 'target', 'client-test-logs');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch (_) {
    return '(no log)';
  }
}

// options.timerMinuteMs: how long one minute of the chat timers lasts (LIAISON_TIMER_MINUTE_MS;
// default 100). Custom participants get 15 such seconds to connect. options.env: more
// environment for the server.
async function startServer(name, { timerMinuteMs = 100, env = {} } = {}) {
  const bin = liaisonBin();
  if (!fs.existsSync(bin)) {
    throw new Error(`liaison binary not found at ${bin}; build it with \`cargo build -p liaison\` or set LIAISON_BIN`);
  }
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `liaison-node-${name}-`));
  const logPath = path.join(logDir(), `node-${name}.log`);
  const fd = fs.openSync(logPath, 'w');
  const credentials = {
    accessKeyId: 'AKLIAISON' + crypto.randomBytes(6).toString('hex').toUpperCase(),
    secretAccessKey: crypto.randomBytes(30).toString('base64url'),
  };
  const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', path.join(dataDir, 'data')], {
    env: {
      ...process.env,
      LIAISON_ACCESS_KEY_ID: credentials.accessKeyId,
      LIAISON_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      LIAISON_TIMER_MINUTE_MS: String(timerMinuteMs),
      ...env,
    },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; });

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  let last = '';
  for (;;) {
    if (exited) {
      throw new Error(`liaison exited (${JSON.stringify(exited)}) before /health answered\n${tail(logPath)}`);
    }
    try {
      const r = await fetch(`${endpoint}/health`);
      await r.arrayBuffer();
      if (r.status === 200) break;
      last = `status ${r.status}`;
    } catch (e) {
      last = String(e && e.cause ? e.cause.code || e.cause : e);
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`GET /health did not answer 200 within 20 s (last: ${last})\n${tail(logPath)}`);
    }
    await sleep(100);
  }

  return {
    endpoint,
    port,
    credentials,
    logPath,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 5000);
        await gone;
        clearTimeout(t);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function connectClient(server, extra = {}) {
  return new ConnectClient({
    region: REGION,
    endpoint: server.endpoint,
    credentials: server.credentials,
    maxAttempts: 1,
    ...extra,
  });
}

const QUIET_FLOW_NAME = 'Quiet test flow';

// A flow that says nothing and waits a week before it disconnects, so tests see only their own
// chat traffic (the built-in chat flow greets and queues). Created on first use.
const QUIET_FLOW = JSON.stringify({
  Version: '2019-10-30',
  StartAction: 'wait',
  Actions: [
    { Identifier: 'wait', Type: 'Wait', Parameters: { TimeLimitSeconds: '604800' },
      Transitions: { Conditions: [{ NextAction: 'end', Condition: { Operator: 'Equals', Operands: ['WaitCompleted'] } }],
        Errors: [{ NextAction: 'end', ErrorType: 'NoMatchingError' }] } },
    { Identifier: 'end', Type: 'DisconnectParticipant', Parameters: {}, Transitions: {} },
  ],
});

async function quietFlow(client, instanceId) {
  const flows = await client.send(new ListContactFlowsCommand({ InstanceId: instanceId }));
  const found = (flows.ContactFlowSummaryList || []).find((f) => f.Name === QUIET_FLOW_NAME);
  if (found) return found.Id;
  const created = await client.send(new CreateContactFlowCommand({
    InstanceId: instanceId, Name: QUIET_FLOW_NAME, Type: 'CONTACT_FLOW', Content: QUIET_FLOW,
  }));
  return created.ContactFlowId;
}

async function discover(client) {
  const inst = await client.send(new ListInstancesCommand({}));
  if (!inst.InstanceSummaryList || inst.InstanceSummaryList.length !== 1) {
    throw new Error(`expected exactly one instance, got ${JSON.stringify(inst.InstanceSummaryList)}`);
  }
  const instanceId = inst.InstanceSummaryList[0].Id;
  return { instanceId, flowId: await quietFlow(client, instanceId) };
}

async function startChat(client, { instanceId, flowId }, displayName = 'Customer', extra = {}) {
  const r = await client.send(new StartChatContactCommand({
    InstanceId: instanceId,
    ContactFlowId: flowId,
    ParticipantDetails: { DisplayName: displayName },
    ...extra,
  }));
  return { ContactId: r.ContactId, ParticipantId: r.ParticipantId, ParticipantToken: r.ParticipantToken };
}

module.exports = { REPO_ROOT, REGION, startServer, connectClient, discover, startChat, sleep };
