// A TLS connection's `conn`: the same Socket, plus what Node's tls.TLSSocket tells a server about the handshake
// the broker finished. The facts are fixed for the connection's life; a plain connection never sees this class.
import { Buffer } from './buffer.js';
import { Socket } from './socket.js';

// Connections share equal strings (server names, ALPN protocols, verify codes) and one record per protocol and
// cipher rather than each holding copies. Names come from clients, so each table is emptied when it grows.
const tableLimit = 64;
const strings = new Map();
const suites = new Map();

function shared(text) {
  if (typeof text !== 'string') return text;
  const known = strings.get(text);
  if (known !== undefined) return known;
  if (strings.size >= tableLimit) strings.clear();
  strings.set(text, text);
  return text;
}

function suite(facts) {
  const key = `${facts.protocol} ${facts.cipherName} ${facts.cipherStandardName} ${facts.cipherVersion}`;
  let known = suites.get(key);
  if (known === undefined) {
    if (suites.size >= tableLimit) suites.clear();
    known = Object.freeze({ protocol: facts.protocol, name: facts.cipherName, standardName: facts.cipherStandardName,
      version: facts.cipherVersion });
    suites.set(key, known);
  }
  return known;
}

// A certificate name as Node's getPeerCertificate() gives it: a null-prototype object keyed by the attributes'
// short names, a repeated attribute as an array of its values in order. `pairs` is [key, value, key, value, …].
function nameObject(pairs) {
  const name = { __proto__: null };
  for (let index = 0; index < pairs.length; index += 2) {
    const key = pairs[index];
    const value = pairs[index + 1];
    const earlier = name[key];
    if (earlier === undefined) name[key] = value;
    else if (Array.isArray(earlier)) earlier[earlier.length] = value;
    else name[key] = [earlier, value];
  }
  return name;
}

export class TLSSocket extends Socket {
  // Own data properties in Node's order, as a server's TLSSocket has them once its handshake is done. Fields are
  // defined, not assigned: a setter a handler put on Object.prototype cannot take a fact's place.
  servername;
  alpnProtocol;
  authorized;
  authorizationError;
  encrypted = true;
  #suite;
  #peer;

  // `facts` is the object HandlerRuntime.tlsFacts makes: servername and alpnProtocol (a string or false),
  // protocol, cipherName, cipherStandardName, cipherVersion, authorized, authorizationError (a string or
  // undefined), and peerCertificate, null when the client sent none, else {subject, issuer: [key, value, …],
  // subjectaltname (a string or undefined), valid_from, valid_to, serialNumber, fingerprint, fingerprint256,
  // raw: Buffer}.
  constructor(id, remoteAddress, remotePort, localAddress, localPort, facts) {
    super(id, remoteAddress, remotePort, localAddress, localPort);
    this.servername = shared(facts.servername);
    this.alpnProtocol = shared(facts.alpnProtocol);
    this.authorized = facts.authorized;
    this.authorizationError = shared(facts.authorizationError);
    this.#suite = suite(facts);
    this.#peer = facts.peerCertificate;
  }

  // As in Node, the handshake's details are gone (null) once the socket is destroyed.

  getProtocol() {
    return this.destroyed ? null : this.#suite.protocol;
  }

  getCipher() {
    if (this.destroyed) return null;
    const { name, standardName, version } = this.#suite;
    return { name, standardName, version };
  }

  // A fresh object per call, as in Node (a handler may change it); `detailed` would add the issuer chain, which
  // the broker does not pass on.
  getPeerCertificate(detailed) {
    if (this.destroyed) return null;
    const peer = this.#peer;
    if (peer === null) return {};
    return {
      subject: nameObject(peer.subject),
      issuer: nameObject(peer.issuer),
      ...(peer.subjectaltname === undefined ? undefined : { subjectaltname: peer.subjectaltname }),
      valid_from: peer.valid_from,
      valid_to: peer.valid_to,
      fingerprint: peer.fingerprint,
      fingerprint256: peer.fingerprint256,
      serialNumber: peer.serialNumber,
      raw: Buffer.from(peer.raw),
    };
  }
}
