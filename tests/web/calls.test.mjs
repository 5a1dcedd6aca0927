// The web client's call tracker (web/calls.js) on its own: the events it
// derives from snapshots, including snapshots that arrive before the reply
// to the caller's own `call` request (docs/protocol.md allows that).
import test from 'node:test';
import assert from 'node:assert/strict';
import { CallTracker } from '../../web/calls.js';

const ringing = {
  call_id: 'c1', version: 1, caller_id: 'grace', media_type: 'video', is_group: false, state: 'ringing',
  participants: [
    { user_id: 'grace', state: 'in_call', device_id: 'g1' },
    { user_id: 'rejecter', state: 'ringing' },
  ],
};
const rejected = {
  ...ringing, version: 2, state: 'ended', end_reason: 'reject',
  participants: [
    { user_id: 'grace', state: 'gone', reason: 'unknown', device_id: 'g1' },
    { user_id: 'rejecter', state: 'gone', reason: 'reject' },
  ],
};
const names = (events) => events.map((e) => `${e.name}${e.user_id ? `:${e.user_id}` : ''}${e.reason ? `:${e.reason}` : ''}`);

test('a rejection pushed after the reply to `call`', () => {
  const t = new CallTracker('grace', 'g1');
  assert.deepEqual(names(t.own(ringing)), ['onUserInviting:rejecter']);
  assert.deepEqual(names(t.update(rejected)), ['onUserReject:rejecter', 'onCallNotConnected:reject']);
  assert.equal(t.current, null);
});

test('a rejection pushed before the reply to `call` is caught up on when the reply comes', () => {
  const t = new CallTracker('grace', 'g1');
  assert.deepEqual(t.update(ringing), [], 'nothing yet: the call is not known to be this device\'s');
  assert.deepEqual(t.update(rejected), []);
  assert.deepEqual(names(t.own(ringing)), ['onUserInviting:rejecter', 'onUserReject:rejecter', 'onCallNotConnected:reject']);
  assert.equal(t.current, null, 'the call is over');
  assert.deepEqual(t.update(rejected), [], 'a duplicate of the early snapshot changes nothing');
});

test('an early snapshot of another call is not applied to the one placed', () => {
  const t = new CallTracker('grace', 'g1');
  t.update({ ...rejected, call_id: 'old' });
  assert.deepEqual(names(t.own(ringing)), ['onUserInviting:rejecter']);
  assert.equal(t.current?.call_id, 'c1');
});

test('an early snapshot older than the reply is ignored', () => {
  const t = new CallTracker('grace', 'g1');
  t.update(ringing);
  const accepted = {
    ...ringing, version: 3, state: 'active',
    participants: [ringing.participants[0], { user_id: 'rejecter', state: 'in_call', device_id: 'r1' }],
  };
  assert.deepEqual(names(t.own(accepted)), ['onUserJoin:rejecter', 'onCallBegin']);
  assert.equal(t.current?.version, 3);
});
