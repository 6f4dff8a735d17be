// A ChatJS customer session driven step by step. Loaded by the Node tests (require) and by the
// browser test page (<script>), after the amazon-connect-chatjs bundle has defined `connect`.
// Everything returned is plain JSON so it can cross page.evaluate().
(function (g) {
  'use strict';

  const TYPING = 'application/vnd.amazonaws.connect.event.typing';
  const LEFT = 'application/vnd.amazonaws.connect.event.participant.left';
  const ENDED = 'application/vnd.amazonaws.connect.event.chat.ended';

  function slim(item) {
    if (!item || typeof item !== 'object') return item === undefined ? null : item;
    const out = {};
    for (const k of ['Id', 'Type', 'ContentType', 'Content', 'ParticipantId', 'ParticipantRole', 'DisplayName',
      'ContactId', 'InitialContactId', 'AbsoluteTime']) {
      if (item[k] !== undefined) out[k] = item[k];
    }
    return out;
  }

  function errText(e) {
    if (!e) return String(e);
    if (e instanceof Error) return `${e.name}: ${e.message}`;
    try { return JSON.stringify(e); } catch (_) { return String(e); }
  }

  // Configure ChatJS once per page/process. The endpoint must be set before ChatSession.create.
  function configure({ endpoint, region, nodeMode, debug }) {
    const connect = g.connect;
    connect.ChatSession.setGlobalConfig({
      region,
      endpoint,
      loggerConfig: { useDefaultLogger: !!debug, level: connect.LogLevel.DEBUG },
      // Node has no navigator.onLine; without this the websocket manager thinks it is offline.
      ...(nodeMode ? { webSocketManagerConfig: { isNetworkOnline: () => true } } : {}),
    });
  }

  // Create a session and record everything it reports.
  function open({ chatDetails, region }) {
    const connect = g.connect;
    const events = [];
    const session = connect.ChatSession.create({
      chatDetails,
      options: { region },
      type: connect.ChatSession.SessionTypes.CUSTOMER,
      disableCSM: true, // otherwise ChatJS loads a metrics worker that posts to AWS
    });
    const rec = (name) => (e) => events.push({ name, t: Date.now(), item: slim(e && e.data) });
    session.onConnectionEstablished(rec('connectionEstablished'));
    session.onConnectionBroken(rec('connectionBroken'));
    session.onConnectionLost(rec('connectionLost'));
    session.onDeepHeartbeatSuccess(rec('deepHeartbeatSuccess'));
    session.onDeepHeartbeatFailure(rec('deepHeartbeatFailure'));
    session.onMessage(rec('message'));
    session.onTyping(rec('typing'));
    session.onEnded(rec('ended'));

    const handle = {
      session,
      events,
      status: () => session.controller.getConnectionStatus(),
      find: (name, pred) => events.find((ev) => ev.name === name && (!pred || pred(ev.item))),
      waitFor(pred, ms) {
        return new Promise((resolve) => {
          const t0 = Date.now();
          const tick = () => {
            let v;
            try { v = pred(); } catch (_) { v = false; }
            if (v) return resolve(v);
            if (Date.now() - t0 > ms) return resolve(null);
            setTimeout(tick, 25);
          };
          tick();
        });
      },
      waitEvent(name, pred, ms) {
        return handle.waitFor(() => handle.find(name, pred), ms);
      },
    };
    return handle;
  }

  // connect() and wait for the socket; returns the connect result and whether it got Established.
  async function connectAndEstablish(h) {
    const r = await h.session.connect();
    const established = !!(await h.waitFor(() => h.status() === 'Established', 8000));
    return { connectSuccess: !!(r && r.connectSuccess), established };
  }

  // The whole customer session: connect, message + echo, typing + echo, transcript, leave + ended.
  async function runFull({ endpoint, region, nodeMode, debug, chatDetails, text }) {
    const out = { steps: [], errors: [] };
    const step = (s) => out.steps.push(s);
    try {
      configure({ endpoint, region, nodeMode, debug });
      const h = open({ chatDetails, region });
      Object.assign(out, await connectAndEstablish(h));
      step('connected');
      out.deepHeartbeat = !!(await h.waitEvent('deepHeartbeatSuccess', null, 5000));

      const sm = await h.session.sendMessage({ contentType: 'text/plain', message: text });
      out.sent = { Id: sm && sm.data && sm.data.Id, AbsoluteTime: sm && sm.data && sm.data.AbsoluteTime };
      step('sendMessage');
      const echo = await h.waitEvent('message', (i) => i && i.Id === out.sent.Id, 5000);
      out.messageEcho = echo ? echo.item : null;

      await h.session.sendEvent({ contentType: TYPING });
      step('sendEvent');
      const typing = await h.waitEvent('typing', (i) => i && i.ContentType === TYPING, 5000);
      out.typingEcho = typing ? typing.item : null;

      const t = await h.session.getTranscript({ scanDirection: 'BACKWARD', sortOrder: 'ASCENDING', maxResults: 15 });
      out.transcript = {
        InitialContactId: t.data.InitialContactId,
        items: (t.data.Transcript || []).map(slim),
      };
      step('getTranscript');

      const beforeLeave = h.events.length;
      await h.session.disconnectParticipant();
      step('disconnectParticipant');
      const ended = await h.waitEvent('ended', null, 5000);
      out.ended = !!ended;
      const after = h.events.slice(beforeLeave);
      out.afterLeave = after.map((ev) => ({ name: ev.name, ContentType: ev.item && ev.item.ContentType,
        ParticipantId: ev.item && ev.item.ParticipantId }));
      out.events = h.events.map((ev) => ({ name: ev.name, item: ev.item }));
      out.finalStatus = h.status();
    } catch (e) {
      out.errors.push(errText(e));
    }
    return out;
  }

  const api = { configure, open, connectAndEstablish, runFull, slim, TYPING, LEFT, ENDED };
  g.LiaisonCustomerSession = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
