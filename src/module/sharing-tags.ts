/**
 * Sharing tags as modules see them. A tag (`name/cluster_id`) is active on exactly one node of
 * a cluster; jobs that act on data (expire contacts, ping, end timed-out dialogs, write CDRs)
 * act only on data whose owner tag is active here, so a backup holds the same data but leaves
 * it alone. The clusterer (src/cluster) provides the real view; a node without one is alone
 * and therefore active for every tag.
 */
export interface SharingTags {
  /** Is the tag active on this node? A null tag (data with no owner) counts as active. */
  isActive(tag: string | null): boolean;
}

/** A node outside any cluster owns everything. */
export const standaloneSharingTags: SharingTags = {
  isActive: () => true,
};

/** A tag's state on this node (`null`: this node has never heard of the tag). */
export type SharingTagState = 'active' | 'backup';

/** A tag changed state here (`host.sharingTags.onChange`). */
export interface SharingTagChange {
  /** `name/cluster_id` */
  readonly tag: string;
  readonly state: SharingTagState;
  readonly reason: string;
}

/** What a module's host offers: the query above plus state, callbacks and activation. */
export interface ModuleSharingTags extends SharingTags {
  state(tag: string): SharingTagState | null;
  /** Be told of every change on this node; returns the function that unsubscribes. */
  onChange(cb: (change: SharingTagChange) => void): () => void;
  /** Make the tag active here (every other node holding it steps down). */
  activate(tag: string): void;
  /**
   * Is the tag active on some node this one can reach (itself included)? False while nobody
   * holds it or its holder is unreachable: backups then purge expired data after a grace time.
   */
  heldActive(tag: string): boolean;
}

/**
 * The full view over a plain {@link SharingTags} (a standalone node, or a test's fake): the
 * state follows `isActive`, nothing ever changes, and activating changes nothing because the
 * node is alone.
 */
export function moduleSharingTags(tags: SharingTags): ModuleSharingTags {
  if (isModuleSharingTags(tags)) {
    return tags;
  }
  return {
    isActive: (tag) => tags.isActive(tag),
    state: (tag) => (tags.isActive(tag) ? 'active' : 'backup'),
    onChange: () => () => undefined,
    activate: () => undefined,
    heldActive: () => true,
  };
}

function isModuleSharingTags(tags: SharingTags): tags is ModuleSharingTags {
  const t = tags as Partial<ModuleSharingTags>;
  return (
    typeof t.state === 'function' &&
    typeof t.onChange === 'function' &&
    typeof t.activate === 'function' &&
    typeof t.heldActive === 'function'
  );
}
