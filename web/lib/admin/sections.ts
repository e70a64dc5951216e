/**
 * The administration console's pages and the permission that shows each in the console.
 * Studies and query/retrieve open with less (image:read, device:read; a doctor reaches them
 * from elsewhere), but only deleting and registering devices make them the console's.
 */
export interface AdminSection {
  id: 'users' | 'roles' | 'audit' | 'hl7' | 'apiKeys' | 'system' | 'studies' | 'queryRetrieve';
  href: string;
  permission: string;
}

export const ADMIN_SECTIONS: AdminSection[] = [
  { id: 'users', href: '/admin/users/', permission: 'user:read' },
  { id: 'roles', href: '/admin/roles/', permission: 'user:read' },
  { id: 'audit', href: '/admin/audit/', permission: 'audit:read' },
  { id: 'hl7', href: '/admin/hl7/', permission: 'hl7:read' },
  { id: 'apiKeys', href: '/admin/api-keys/', permission: 'user:read' },
  { id: 'studies', href: '/admin/studies/', permission: 'image:delete' },
  { id: 'queryRetrieve', href: '/admin/query-retrieve/', permission: 'device:manage' },
  { id: 'system', href: '/admin/system/', permission: 'system:admin' },
];

/** The sections a user with these permissions may open, in menu order. */
export function adminSections(permissions: readonly string[]): AdminSection[] {
  return ADMIN_SECTIONS.filter((s) => permissions.includes(s.permission));
}

/** Permissions any of which shows the console's entry in the header. */
export const ADMIN_PERMISSIONS = [...new Set(ADMIN_SECTIONS.map((s) => s.permission))];
