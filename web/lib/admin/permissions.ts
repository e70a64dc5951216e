/**
 * The permission picker's groups: permissions are `resource:action`, grouped by resource in
 * the catalogue's order (GET /api/permissions), each group under its translated title.
 */
export interface PermissionGroup {
  resource: string;
  permissions: string[];
}

export function groupPermissions(names: readonly string[]): PermissionGroup[] {
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const resource = name.split(':', 1)[0];
    const list = groups.get(resource) ?? [];
    list.push(name);
    groups.set(resource, list);
  }
  return [...groups].map(([resource, permissions]) => ({ resource, permissions }));
}

/** Whether every permission of a group is chosen ('all'), some ('some') or none ('none'). */
export function groupState(group: PermissionGroup, chosen: ReadonlySet<string>): 'all' | 'some' | 'none' {
  const n = group.permissions.filter((p) => chosen.has(p)).length;
  if (n === 0) return 'none';
  return n === group.permissions.length ? 'all' : 'some';
}

/** Ticking a group's box: all of it when not all chosen, else none of it. */
export function toggleGroup(group: PermissionGroup, chosen: ReadonlySet<string>): Set<string> {
  const next = new Set(chosen);
  const all = groupState(group, chosen) === 'all';
  for (const p of group.permissions) {
    if (all) next.delete(p);
    else next.add(p);
  }
  return next;
}

/** The i18n key of a permission's label: `admin.perm.image_read` for `image:read`. */
export function permissionKey(name: string): string {
  return `admin.perm.${name.replace(':', '_')}`;
}
