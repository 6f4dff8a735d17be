// Loads amazon-connect-chatjs under plain Node (no browser, no jsdom).
// ChatJS is written for browsers; these are the globals it touches:
//  - window: it hangs `connect` off it and reads window.navigator / window.console
//  - self: the AWS SDK bundled inside ChatJS has a UMD wrapper that uses `self`
//  - navigator: Node 20 has none (ChatJS reads userAgent and onLine)
//  - WebSocket: Node 20 has no global WebSocket; the `ws` package provides a compatible one
// fetch is Node's own.
'use strict';

globalThis.window = globalThis;
globalThis.self = globalThis;
if (!globalThis.navigator) {
  globalThis.navigator = { userAgent: `node/${process.version}`, onLine: true };
}
if (!globalThis.WebSocket) globalThis.WebSocket = require('ws');

require('amazon-connect-chatjs'); // defines the global `connect`
const session = require('./customer-session.js');

module.exports = { connect: globalThis.connect, session };
