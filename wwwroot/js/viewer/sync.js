// Linked viewers (side-by-side review): the viewers of one named group follow each other's slice, window,
// zoom/pan and mouse tool, and show a crosshair where the pointer is in the viewer under it. Everything happens
// in the browser, synchronously, as the events arrive: nothing goes through the Blazor circuit per event.
//
//   createViewer(element, { sync: "case-12" })   joins group "case-12" (created on first use, gone with its last viewer)
//   viewer.setLinked(bool)  /  key L             links or unlinks the whole group; linking aligns the others to this one
//   state.linked                                 true / false in a group, null outside one
//
// Viewers of a group are expected to show the same grid (the same case): slices are matched by index, the view by
// the image point at the centre of the viewport and the zoom relative to "fit", so panels of different sizes agree.

const groups = new Map();

/** Adds `viewer` to the group called `name` and returns the group. */
export function joinSyncGroup(name, viewer) {
    let group = groups.get(name);
    if (!group) {
        group = new SyncGroup(name);
        groups.set(name, group);
    }
    group.viewers.add(viewer);
    return group;
}

/** The group called `name`, or null (for scripts and tests). */
export function findSyncGroup(name) {
    return groups.get(name) ?? null;
}

export class SyncGroup {
    constructor(name) {
        this.name = name;
        this.viewers = new Set();
        this.linked = true;
        this.applying = false; // a follower's own changes are not published again
    }

    leave(viewer) {
        this.viewers.delete(viewer);
        for (const v of this.viewers) v.clearPeerCursor(viewer);
        if (this.viewers.size === 0 && groups.get(this.name) === this) groups.delete(this.name);
    }

    /** The viewers of the group other than `viewer` that show a volume. */
    peers(viewer) {
        return [...this.viewers].filter((v) => v !== viewer && !v.disposed && v.volume);
    }

    /** A viewer of the group to align a newly loaded one with (same grid), or null. */
    leaderFor(viewer, dims) {
        if (!this.linked) return null;
        return this.peers(viewer).find((v) => sameDims(v.volume.dims, dims)) ?? null;
    }

    /**
     * `source` changed what is named in `kinds` ("slice", "window", "view", "tool"): the others follow, at once.
     */
    publish(source, kinds) {
        if (!this.linked || this.applying) return;
        this.applying = true;
        try {
            for (const v of this.peers(source)) {
                if (sameDims(v.volume.dims, source.volume.dims)) v.follow(source, kinds);
            }
        } finally {
            this.applying = false;
        }
    }

    /** The voxel under the pointer in `source` (continuous coordinates), or null when it left the image. */
    pointer(source, point) {
        if (this.applying) return;
        for (const v of this.peers(source)) v.setPeerCursor(source, this.linked ? point : null);
    }

    setLinked(linked, source) {
        linked = !!linked;
        if (linked === this.linked) return;
        this.linked = linked;
        if (linked && source?.volume) this.publish(source, ["slice", "window", "view", "tool"]);
        for (const v of this.viewers) v.linkChanged();
    }
}

function sameDims(a, b) {
    return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
