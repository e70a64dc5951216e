import { describe, expect, it } from 'vitest';
import { parseSse } from './sse';

describe('parseSse', () => {
  it('splits named events, skips heartbeats and keeps an unfinished event for later', () => {
    const chunk =
      'event: unread\ndata: {"unread": 2}\n\n: heartbeat\n\nevent: notification\r\ndata: {"id":"1"}\r\n\r\nevent: notif';
    const { events, rest } = parseSse(chunk);
    expect(events).toEqual([
      { event: 'unread', data: '{"unread": 2}' },
      { event: 'notification', data: '{"id":"1"}' },
    ]);
    expect(rest).toBe('event: notif');
    expect(parseSse(`${rest}ication\ndata: x\n\n`).events).toEqual([{ event: 'notification', data: 'x' }]);
  });

  it('joins multi-line data and defaults the event name', () => {
    expect(parseSse('data: a\ndata: b\n\n').events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
