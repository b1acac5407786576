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
