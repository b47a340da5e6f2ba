#!/bin/sh
# The Kubernetes manifests (deploy/kubernetes) validated by validate.mjs against the Kubernetes
# API schemas of npm's kubernetes-models, installed once into BUILD_DIR/npm-deploy from the npm
# registry. Mutated copies must fail (the check can fail). Skips (77) without node and npm or
# without the registry, unless GPRIO_REQUIRE_DEPLOY_CHECK=1 (CI), where that is a failure.
#   test_kubernetes.sh SRC_DIR BUILD_DIR
set -u
SRC=$1 BUILD=$2
NM=$BUILD/npm-deploy
skip() {
	echo "SKIP - $1"
	[ "${GPRIO_REQUIRE_DEPLOY_CHECK:-0}" = 1 ] && exit 1
	exit 77
}
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "node or npm missing (apt-get install nodejs npm)"
if [ ! -d "$NM/node_modules/kubernetes-models" ] || [ ! -d "$NM/node_modules/yaml" ]; then
	mkdir -p "$NM"
	(cd "$NM" && echo '{"private": true}' >package.json &&
		timeout 300 npm install --no-audit --no-fund --loglevel=error kubernetes-models@5.1.0 yaml@2.8.1 >install.log 2>&1) ||
		skip "npm install kubernetes-models failed: $(tail -2 "$NM/install.log")"
fi
cp "$SRC/tests/deploy/validate.mjs" "$NM/validate.mjs"
V() { node "$NM/validate.mjs" "$@"; }
fails=0
K=$SRC/deploy/kubernetes
V "$K/gpriod.yaml" "$K/example.yaml" || fails=$((fails + 1))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# the check can fail: a type error, a field typo, a device the spec does not define
sed 's/containerPort: 9464/containerPort: "9464"/' "$K/gpriod.yaml" >"$TMP/a.yaml"
sed 's/hostPID: true/hostPid: true/' "$K/gpriod.yaml" >"$TMP/b.yaml"
sed 's/class=offline/class=batch/' "$K/example.yaml" >"$TMP/c.yaml"
for m in "a.yaml example.yaml" "b.yaml example.yaml" "gpriod.yaml c.yaml"; do
	set -- $m
	f1=$TMP/$1 f2=$TMP/$2
	[ -e "$f1" ] || f1=$K/$1
	[ -e "$f2" ] || f2=$K/$2
	if V "$f1" "$f2" >"$TMP/out" 2>&1; then
		echo "FAIL - a broken manifest ($m) passed"
		fails=$((fails + 1))
	else
		echo "ok   - broken manifest refused: $(head -1 "$TMP/out")"
	fi
done
[ "$fails" -eq 0 ] || exit 1
