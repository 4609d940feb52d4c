package io.basalt.bdev.lvol;

import io.basalt.bdev.Bdev;
import io.basalt.bdev.BdevDesc;
import io.basalt.bdev.BdevEvent;
import io.basalt.bdev.BdevEventHandler;
import io.basalt.bdev.BdevLayer;
import io.basalt.bdev.BdevModule;
import io.basalt.bdev.ClaimType;
import io.basalt.blob.Blob;
import io.basalt.blob.Blobstore;
import io.basalt.blob.ClearMethod;
import io.basalt.runtime.BasaltException;
import io.basalt.runtime.Errno;
import io.basalt.runtime.Reactor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Logical volumes (SPDK's bdev_lvol module): creates lvol stores on bdevs, and finds existing ones
 * by examine when a bdev registers, so a restart brings every store and lvol back without
 * configuration (lvols are not written by save_config).
 *
 * <p>Ownership: a store opens its base for writing and claims it {@code exclusive_write}; the
 * claim goes when the store is deleted or unloaded. Threading: application reactor.
 */
public final class LvolModule implements BdevModule {
    private static final System.Logger LOG = System.getLogger(LvolModule.class.getName());

    private final BdevLayer layer;
    private final Map<UUID, LvolStore> stores = new LinkedHashMap<>();
    /** Base bdevs whose store is being created or loaded: nobody else may start on them. */
    private final List<String> starting = new ArrayList<>();

    public LvolModule(BdevLayer layer) {
        this.layer = layer;
    }

    @Override
    public String name() {
        return "lvol";
    }

    public BdevLayer layer() {
        return layer;
    }

    private Reactor app() {
        return layer.reactors().app();
    }

    public List<LvolStore> stores() {
        return List.copyOf(stores.values());
    }

    void removeStore(LvolStore s) {
        stores.remove(s.uuid);
    }

    /** The store with this name, or null. */
    public LvolStore storeByName(String name) {
        for (LvolStore s : stores.values()) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** The store given by uuid xor name; -ENODEV naming what was asked for. */
    public LvolStore store(UUID uuid, String name) {
        LvolStore s = uuid != null ? stores.get(uuid) : storeByName(name);
        if (s == null || "unload".equals(s.busy)) {
            throw new BasaltException(Errno.ENODEV, "lvol store " + (uuid != null ? uuid : name) + " not found");
        }
        return s;
    }

    /** The lvol with this bdev name, alias ("lvs/lvol") or uuid; -ENODEV otherwise. */
    public Lvol lvol(String name) {
        Bdev b = layer.lookup(name);
        if (b instanceof Lvol l) {
            return l;
        }
        throw new BasaltException(Errno.ENODEV, b == null ? "lvol " + name + " not found"
                : "bdev " + name + " is not an lvol");
    }

    // ------------------------------------------------------------------ create

    /** bdev_lvol_create_lvstore: formats {@code bdevName} and returns the new store. */
    public CompletableFuture<LvolStore> createStore(String bdevName, String lvsName, long clusterSize,
                                                    ClearMethod clear, int mdPagesPerClusterRatio) {
        app().assertInReactor();
        Base base;
        try {
            if (storeByName(lvsName) != null) {
                throw new BasaltException(Errno.EEXIST, "lvol store " + lvsName + " already exists");
            }
            Bdev b = layer.require(bdevName);
            if (starting.contains(b.name())) {
                throw new BasaltException(Errno.EBUSY, "bdev " + b.name() + " is being examined");
            }
            base = openAndClaim(b);
        } catch (BasaltException e) {
            return CompletableFuture.failedFuture(e);
        }
        BdevDesc d = base.desc;
        starting.add(d.bdev().name());
        BdevBlobDevice dev = new BdevBlobDevice(d);
        CompletableFuture<Blobstore> created = Blobstore.create(dev, app(), layer.buffers(),
                new Blobstore.Options(clusterSize, mdPagesPerClusterRatio, null));
        return created.thenCompose(bs -> bs.createBlob(0, true, Map.of(LvolStore.XATTR_NAME, lvsName))
                .thenCompose(sb -> bs.setSuperBlob(sb).thenApply(v -> sb))
                .thenCompose(sb -> bs.clearDataRegion(clear).thenApply(v -> sb))
                .handle((sb, t) -> {
                    if (t != null) {
                        // Leave no half-made store behind: erase it (best effort) and let go of the base.
                        return bs.destroy().<LvolStore>handle((v, t2) -> {
                            throw new CompletionException(LvolStore.cause(t));
                        });
                    }
                    return CompletableFuture.completedFuture(open(bs, base, sb));
                }).thenCompose(x -> x))
                .whenComplete((s, t) -> {
                    starting.remove(d.bdev().name());
                    if (t != null) {
                        d.close();
                    }
                });
    }

    /** A store's base: the claimed descriptor and where its events go. */
    private record Base(BdevDesc desc, Events events) {
    }

    private Base openAndClaim(Bdev b) {
        Events events = new Events();
        BdevDesc d = layer.open(b.name(), true, events);
        try {
            layer.claim(d, ClaimType.EXCLUSIVE_WRITE, this);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return new Base(d, events);
    }

    private LvolStore open(Blobstore bs, Base base, Blob superBlob) {
        LvolStore s = new LvolStore(this, bs, base.desc, superBlob);
        stores.put(s.uuid, s);
        s.registerAll();
        LOG.log(System.Logger.Level.INFO, "lvol store " + s.name + " (" + s.uuid + ") on " + base.desc.bdev().name()
                + ": " + s.lvols().size() + " lvols, " + bs.freeClusters() + "/" + bs.totalClusters()
                + " clusters free");
        base.events.attach(s);
        return s;
    }

    /** Events of a store's base descriptor (application reactor): REMOVE takes the store offline. */
    private static final class Events implements BdevEventHandler {
        private LvolStore store;
        private boolean removed;

        void attach(LvolStore s) {
            store = s;
            if (removed) {
                s.unload();
            }
        }

        @Override
        public void onEvent(BdevEvent event, Bdev bdev, BdevDesc d) {
            if (event != BdevEvent.REMOVE) {
                return;
            }
            removed = true;
            if (store != null) {
                LOG.log(System.Logger.Level.INFO, "base " + bdev.name() + " of lvol store " + store.name
                        + " is going away: unloading the store");
                store.unload();
            }
        }
    }

    // ------------------------------------------------------------------ examine

    @Override
    public void examine(Bdev bdev, Runnable done) {
        if (layer.claimant(bdev) != null || starting.contains(bdev.name())) {
            done.run();
            return;
        }
        BdevDesc probeDesc;
        try {
            probeDesc = layer.open(bdev.name(), false, BdevEventHandler.IGNORE);
        } catch (BasaltException e) {
            done.run();
            return;
        }
        Blobstore.probe(new BdevBlobDevice(probeDesc), app(), layer.buffers()).whenComplete((p, t) -> {
            probeDesc.close();
            if (t != null || !p.found()) {
                done.run();
                return;
            }
            if (p.problem() != null) {
                LOG.log(System.Logger.Level.ERROR, "bdev " + bdev.name() + " holds a blobstore that cannot be loaded: "
                        + p.problem());
                done.run();
                return;
            }
            load(bdev).whenComplete((s, t2) -> {
                if (t2 != null) {
                    LOG.log(System.Logger.Level.ERROR, "loading the lvol store on " + bdev.name() + " failed: "
                            + LvolStore.cause(t2).getMessage());
                }
                done.run();
            });
        });
    }

    /** Opens, claims and loads the store on {@code bdev}, registering its lvols. */
    CompletableFuture<LvolStore> load(Bdev bdev) {
        Base base;
        try {
            base = openAndClaim(bdev);
        } catch (BasaltException e) {
            return CompletableFuture.failedFuture(e);
        }
        BdevDesc d = base.desc;
        starting.add(bdev.name());
        return Blobstore.load(new BdevBlobDevice(d), app(), layer.buffers()).thenCompose(bs -> {
            Blob sb = bs.superBlob();
            String lvs = sb == null ? null : sb.xattr(LvolStore.XATTR_NAME);
            String problem = sb == null || lvs == null ? "it has no lvol store name (not an lvol store)"
                    : stores.containsKey(bs.uuid()) ? "lvol store " + bs.uuid() + " is already loaded"
                    : storeByName(lvs) != null ? "an lvol store named " + lvs + " is already loaded" : null;
            if (problem != null) {
                return bs.close().thenApply(v -> {
                    throw new BasaltException(Errno.EEXIST, "blobstore on " + bdev.name() + ": " + problem);
                });
            }
            return CompletableFuture.completedFuture(open(bs, base, sb));
        }).whenComplete((s, t) -> {
            starting.remove(bdev.name());
            if (t != null) {
                d.close();
            }
        });
    }

    /** Takes a store offline (tests use it to simulate a restart; the disk is untouched). */
    public CompletableFuture<Void> unload(LvolStore s) {
        return s.unload();
    }

    @Override
    public void fini(Runnable done) {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (LvolStore s : stores()) {
            fs.add(s.unload());
        }
        CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).whenComplete((v, t) -> done.run());
    }
}
