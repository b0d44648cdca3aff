#!/usr/bin/env bash
# Build a distroless-like Node.js base image from THIS machine's Node and import it into podman.
#
#   deploy/image/make-base.sh NAME [PODMAN_GLOBAL_OPTION...]
#
# For machines that cannot pull the default base (gcr.io/distroless/nodejs22-debian12:nonroot):
# the root file system holds only what the webhook needs at run time, laid out as distroless
# lays it out, so the Containerfile works unchanged on either base:
#   /nodejs/bin/node      the `node` on PATH (entrypoint, as in distroless)
#   the shared libraries `ldd` lists for it (and the dynamic loader), at the paths it lists
#   /etc/passwd, /etc/group with root and nonroot (65532), as distroless has them
#   /etc/ssl/certs/ca-certificates.crt, /tmp (1777), /home/nonroot
# No shell, no package manager, no npm. Options after NAME go to podman before `import` (e.g.
# --root DIR --runroot DIR --storage-driver vfs for a private store). Prints the image ID.
set -euo pipefail
name=${1:?usage: make-base.sh NAME [PODMAN_GLOBAL_OPTION...]}
shift
node=$(command -v node)
node=$(readlink -f "$node")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{nodejs/bin,etc/ssl/certs,tmp,home/nonroot}
chmod 1777 "$root/tmp"
chmod 0700 "$root/home/nonroot"
cp "$node" "$root/nodejs/bin/node"

# Every library the binary loads, copied (not linked) to the path the loader will look it up at.
libs=$(ldd "$node" | awk '/=> \//{print $3} /^\t\//{print $1}')
[ -n "$libs" ] || { echo "make-base: ldd listed no libraries for $node" >&2; exit 1; }
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
  if [ -f "$bundle" ]; then cp -L "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"; break; fi
done
[ -f "$root/etc/ssl/certs/ca-certificates.crt" ] || echo "make-base: warning: no CA bundle found" >&2
chown -R 0:0 "$root"
chown 65532:65532 "$root/home/nonroot"

tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
podman "$@" import \
  --change 'ENTRYPOINT ["/nodejs/bin/node"]' \
  --change 'USER 65532:65532' \
  --change 'WORKDIR /home/nonroot' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --message "imgdigest test base from $node ($("$node" --version))" \
  "$work/rootfs.tar" "$name"
