// The widget's message rendering (web/widget/src/markdown.js), in Node: text/markdown from an
// agent or bot becomes HTML the widget puts in the page, so nothing but the few tags it makes
// may come out of it, and links only to http(s) pages, opening without an opener.
'use strict';

const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { REPO_ROOT } = require('../lib/harness.js');

let renderText;

before(async () => {
  ({ renderText } = await import(pathToFileURL(path.join(REPO_ROOT, 'web', 'widget', 'src', 'markdown.js')).href));
});

const md = (text) => renderText(text, { markdown: true });
const LINK = (href, text) => `<a href="${href}" target="_blank" rel="noopener noreferrer">${text}</a>`;

test('HTML in messages is text, in markdown and plain text alike', () => {
  const evil = `<script>alert(1)</script><img src=x onerror="alert('x')"> & done`;
  const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; done';
  assert.equal(md(evil), escaped);
  assert.equal(renderText(evil), escaped);
});

test('emphasis, code, line breaks and lists', () => {
  assert.equal(md('**bold**, __bold__, *it* and _it_'), '<strong>bold</strong>, <strong>bold</strong>, <em>it</em> and <em>it</em>');
  assert.equal(md('snake_case_name and 2*3*4'), 'snake_case_name and 2*3*4');
  assert.equal(md('run `rm -rf *` **now**'), 'run <code>rm -rf *</code> <strong>now</strong>');
  assert.equal(md('one\ntwo\r\nthree'), 'one<br>two<br>three');
  assert.equal(md('Plans:\n- Team\n- **Business**\n\nThanks'), 'Plans:<ul><li>Team</li><li><strong>Business</strong></li></ul>Thanks');
  assert.equal(md('1. first\n2) second'), '<ol><li>first</li><li>second</li></ol>');
  assert.equal(renderText('- not a list\n**not bold**'), '- not a list<br>**not bold**');
});

test('links: http and https only, new tab, no opener, no way out of the attribute', () => {
  assert.equal(md('[plans](https://example.com/p?a=1&b=2)'), LINK('https://example.com/p?a=1&amp;b=2', 'plans'));
  assert.equal(md('[**bold** link](http://example.com)'), LINK('http://example.com', '<strong>bold</strong> link'));
  assert.equal(md('[x](javascript:alert(1))'), '[x](javascript:alert(1))');
  assert.equal(md('[x](data:text/html,hi)'), '[x](data:text/html,hi)');
  assert.equal(md('[x](https://e.com" onclick="alert(1))'),
    `[x](${LINK('https://e.com', 'https://e.com')}&quot; onclick=&quot;alert(1))`);
  // Bare web addresses are linked, without the punctuation that ends the sentence.
  assert.equal(renderText('See https://example.com/a_b_c. Thanks'), `See ${LINK('https://example.com/a_b_c', 'https://example.com/a_b_c')}. Thanks`);
  assert.equal(md('(https://example.com/x)'), `(${LINK('https://example.com/x', 'https://example.com/x')})`);
  assert.equal(md('`https://example.com` in code'), '<code>https://example.com</code> in code');
});

test('placeholder characters in the text cannot forge markup', () => {
  assert.equal(md('\uE0000\uE000 [a](https://e.com)'), `0 ${LINK('https://e.com', 'a')}`);
});
