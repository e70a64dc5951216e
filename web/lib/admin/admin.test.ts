import { describe, expect, it } from 'vitest';
import { auditParams, EMPTY_AUDIT_FILTERS, EMPTY_HL7_FILTERS, formatBytes, hl7Params, passwordProblemKeys, usedPercent } from './format';
import { groupPermissions, groupState, permissionKey, toggleGroup } from './permissions';
import { adminSections } from './sections';

describe('permission picker', () => {
  const names = ['patient:read', 'patient:write', 'image:read', 'image:send', 'audit:read'];
  const groups = groupPermissions(names);

  it('groups by resource in catalogue order', () => {
    expect(groups.map((g) => g.resource)).toEqual(['patient', 'image', 'audit']);
    expect(groups[1].permissions).toEqual(['image:read', 'image:send']);
  });

  it('toggles a whole group, and knows a partial one', () => {
    const some = new Set(['image:read']);
    expect(groupState(groups[1], some)).toBe('some');
    const all = toggleGroup(groups[1], some);
    expect([...all].sort()).toEqual(['image:read', 'image:send']);
    expect(groupState(groups[1], all)).toBe('all');
    expect(groupState(groups[1], toggleGroup(groups[1], all))).toBe('none');
  });

  it('names the label key', () => {
    expect(permissionKey('patient:read_sensitive')).toBe('admin.perm.patient_read_sensitive');
  });
});

describe('formatting', () => {
  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(usedPercent(1, 3)).toBe(33.3);
    expect(usedPercent(1, 0)).toBe(0);
  });

  it('maps password problems to sentences', () => {
    expect(passwordProblemKeys(['must be at least 10 characters', 'must not contain the username'])).toEqual([
      { key: 'admin.password.tooShort', n: 10 },
      { key: 'admin.password.hasUsername' },
    ]);
  });

  it('builds audit parameters without empty fields', () => {
    const p = auditParams({ ...EMPTY_AUDIT_FILTERS, actor: ' bob ', since: '2026-01-02T03:04' });
    expect(p.actor).toBe('bob');
    expect(p.since).toBe(new Date('2026-01-02T03:04').toISOString());
    expect('until' in p).toBe(false);
  });
});

describe('admin sections', () => {
  it('follow permissions', () => {
    expect(adminSections(['user:read']).map((s) => s.id)).toEqual(['users', 'roles', 'apiKeys']);
    expect(adminSections(['audit:read', 'system:admin']).map((s) => s.id)).toEqual(['audit', 'system']);
    expect(adminSections(['hl7:read', 'audit:read']).map((s) => s.id)).toEqual(['audit', 'hl7']);
    expect(adminSections([])).toEqual([]);
  });
});

describe('hl7 filters', () => {
  it('leave out empty fields and send local times as UTC', () => {
    expect(hl7Params(EMPTY_HL7_FILTERS)).toEqual({});
    const p = hl7Params({ ...EMPTY_HL7_FILTERS, ack_code: 'AE', message_type: ' ADT ', control_id: ' ', since: '2026-01-02T03:04' });
    expect(p.ack_code).toBe('AE');
    expect(p.message_type).toBe('ADT');
    expect(p.control_id).toBeUndefined();
    expect(p.since).toBe(new Date('2026-01-02T03:04').toISOString());
  });
});
