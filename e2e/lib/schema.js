// Collections that several test files share: `tags` and a `posts` collection with a field of every type.

/** The fields of `posts`, one of each field type; usersId and tagsId are collection ids. */
export function postsFields(usersId, tagsId) {
  return [
    { name: 'title', type: 'text', required: true, min: 3, max: 100 },
    { name: 'slug', type: 'text', pattern: '^[a-z0-9-]+$' },
    { name: 'views', type: 'number', min: 0 },
    { name: 'published', type: 'bool' },
    { name: 'contact', type: 'email' },
    { name: 'website', type: 'url' },
    { name: 'body', type: 'editor' },
    { name: 'publishedAt', type: 'date' },
    { name: 'status', type: 'select', values: ['draft', 'published', 'archived'], maxSelect: 1 },
    { name: 'categories', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
    { name: 'meta', type: 'json' },
    { name: 'author', type: 'relation', collectionId: usersId, maxSelect: 1 },
    { name: 'tags', type: 'relation', collectionId: tagsId, maxSelect: 10 },
    { name: 'cover', type: 'file', maxSelect: 1, maxSize: 1024 * 1024, mimeTypes: ['image/png', 'text/plain'] },
    { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
    { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
  ];
}

const PUBLIC = { listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '' };

/**
 * Creates `tags` and `posts` through the superuser client su (both public unless rules say
 * otherwise) and returns {users, tags, posts} collection models.
 */
export async function createTagsAndPosts(su, { postsRules = PUBLIC, tagsRules = PUBLIC } = {}) {
  const users = await su.collections.getOne('users');
  const tags = await su.collections.create({
    name: 'tags',
    type: 'base',
    ...tagsRules,
    fields: [
      { name: 'name', type: 'text', required: true },
      { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
    ],
  });
  const posts = await su.collections.create({
    name: 'posts',
    type: 'base',
    ...postsRules,
    fields: postsFields(users.id, tags.id),
  });
  return { users, tags, posts };
}
