#!/usr/bin/env node
// A small real SMTP server for communication_integration_test, built on the smtp-server package
// MailDev ships (run with NODE_PATH=<.tools/maildev/node_modules>). It refuses the recipients
// named by --refuse (ADDRESS=CODE, repeatable) at RCPT TO, optionally answers the end of DATA with
// --reject-data CODE, or never answers it with --hang-data (the server that takes the message and
// goes silent), and appends one JSON line per accepted message to --out:
//   {"from": "...", "to": ["..."], "message_id": "<...>", "size": N}
// Prints "listening <port>" once it accepts connections; exits on SIGTERM.
'use strict';

const fs = require('fs');
const { SMTPServer } = require('smtp-server');

function parseArgs(argv) {
  const opts = { port: 0, out: '', refuse: new Map(), rejectData: 0, hangData: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--hang-data') {
      opts.hangData = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--port') opts.port = Number(value);
    else if (flag === '--out') opts.out = value;
    else if (flag === '--reject-data') opts.rejectData = Number(value);
    else if (flag === '--refuse') {
      const eq = value.lastIndexOf('=');
      if (eq < 0) throw new Error('--refuse takes ADDRESS=CODE');
      opts.refuse.set(value.slice(0, eq).toLowerCase(), Number(value.slice(eq + 1)));
    } else throw new Error(`unknown option ${flag}`);
  }
  if (!opts.port || !opts.out) throw new Error('--port and --out are required');
  return opts;
}

function smtpError(code, message) {
  const err = new Error(message);
  err.responseCode = code;
  return err;
}

const opts = parseArgs(process.argv.slice(2));

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onRcptTo(address, session, callback) {
    const code = opts.refuse.get(address.address.toLowerCase());
    if (code) return callback(smtpError(code, `Mailbox unavailable: ${address.address}`));
    return callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      if (opts.hangData) return undefined;  // the whole message arrived; the verdict never comes
      if (opts.rejectData) return callback(smtpError(opts.rejectData, 'Message rejected by test server'));
      const body = Buffer.concat(chunks).toString('utf8');
      const id = /^Message-ID:\s*(\S+)/im.exec(body);
      const record = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        message_id: id ? id[1] : null,
        size: body.length,
      };
      fs.appendFileSync(opts.out, JSON.stringify(record) + '\n');
      return callback(null, 'Queued');
    });
  },
});

server.on('error', (err) => console.error(`smtp server error: ${err.message}`));
server.listen(opts.port, '127.0.0.1', () => console.log(`listening ${opts.port}`));
function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();  // a connection left hanging must not keep it up
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
