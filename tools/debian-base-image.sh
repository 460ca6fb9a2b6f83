#!/usr/bin/env bash
# Builds a Python 3.11 base image for containers/animl-serve from Debian bookworm packages, for
# machines that cannot pull the Dockerfile's default base (no route to public.ecr.aws or Docker
# Hub). Needs root, debootstrap and a Docker engine.
#
#   tools/debian-base-image.sh [TAG]        (default animl-serve-base:bookworm)
#
# The image differs from the default base in what it is made of, not in how the runtime uses it:
# Debian's python3.11 (3.11.2, /usr/bin) instead of python.org's 3.11.14 (/usr/local/bin), and the
# CA certificates of the machine that built it, so that pip inside `docker build` trusts what this
# machine trusts.
set -euo pipefail

tag=${1:-animl-serve-base:bookworm}
for tool in debootstrap docker; do
  command -v "$tool" >/dev/null || { echo "debian-base-image: $tool is not installed (apt-get install debootstrap docker.io)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "debian-base-image: debootstrap needs root" >&2; exit 2; }

# The machine's own Debian mirror, so that the packages come from where apt already reaches.
mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null \
  | awk '{print $2}' | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/animl-base-XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
started=$SECONDS
echo "debian-base-image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log" >&2; echo "debian-base-image: debootstrap failed (log: $rootfs.log)" >&2; exit 1; }
echo "debian-base-image: python3.11 and CA certificates ($((SECONDS - started)) s)"
chroot "$rootfs" apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv ca-certificates >>"$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log" >&2; echo "debian-base-image: apt-get install failed (log: $rootfs.log)" >&2; exit 1; }
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# The official image's names: the Dockerfile runs `python`.
ln -sf python3.11 "$rootfs/usr/bin/python"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs.log"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "debian-base-image: $tag built in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))"
