"""The catalog of journeys: definitions pinned by id, version and content hash.

- `pinned`: a journey as pinned: its definition, templates and what each template reads.
- `library`: the journeys folder, validated once per content (a broken file fails only
  its own journeys), and the entry rules that choose one for an account.
- `registry`: pinned journeys by hash, in this process; what the workflow reads (a dict
  lookup, or on a miss the archive, whose content for a hash never changes).
- `archive`: where every pinned version is kept for any worker to find: the store, or
  memory for simulations.

History never holds a definition or its templates: a journey carries its pin only.
"""
