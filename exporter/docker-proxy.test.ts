import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../internal/log.js';
import { TEST_IMAGE, TestContainers, requireDocker } from '../internal/testing/docker.js';
import { allowed, startDockerProxy, type DockerProxyHandle } from './docker-proxy.js';
import { DockerSource } from './sources/docker.js';

describe('docker-proxy: the allow-list', () => {
  it("lets through only GET/HEAD of the collectors' endpoints", () => {
    for (const url of [
      '/_ping',
      '/v1.41/version',
      '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%22%5D%7D',
      '/containers/abc123/json',
      '/v1.43/containers/my_app-web.1/stats?stream=false',
      '/containers/abc/logs?follow=1&stdout=1',
      '/events?since=1',
    ]) {
      assert.ok(allowed('GET', url), url);
    }
    for (const [method, url] of [
      ['POST', '/containers/create'],
      ['POST', '/containers/abc/start'],
      ['DELETE', '/containers/abc'],
      ['GET', '/containers/abc/archive?path=/etc'],
      ['GET', '/containers/abc/export'],
      ['GET', '/images/json'],
      ['GET', '/secrets'],
      ['GET', '/containers/../images/json'],
      ['GET', '/containers/abc/json/../../exec/x/json'],
      ['GET', '/containers/%2e%2e/json'],
      ['PUT', '/containers/abc/archive'],
    ]) {
      assert.equal(allowed(method, url), false, `${method} ${url}`);
    }
  });
});

describe('docker-proxy: in front of the real Docker socket', () => {
  let proxy: DockerProxyHandle | undefined;
  let base = '';
  const containers = new TestContainers();

  before(async () => {
    proxy = await startDockerProxy({
      listen: '127.0.0.1:0',
      socketPath: '/var/run/docker.sock',
      log: silentLogger,
    });
    base = `http://127.0.0.1:${proxy.address.port}`;
  });
  after(async () => {
    containers.removeAll();
    await proxy?.close();
  });

  it('answers what the collectors ask, through the exporter’s own Docker client', async (t) => {
    if (!requireDocker(t)) return;
    const name = containers.run(
      'proxied',
      ['--label', 'com.docker.compose.service=proxied'],
      ['sleep', '60'],
    );
    const docker = new DockerSource(`tcp://127.0.0.1:${proxy!.address.port}`);
    const found = await docker.findContainer({ composeService: 'proxied' });
    assert.ok(found, 'the container is listed by its label');
    assert.equal(found.name, name);
    assert.ok((await docker.listIds()).includes(found.id));
    const info = await docker.inspect(found.id);
    assert.equal(info?.composeService, 'proxied');
    assert.equal(info?.state, 'running');
    assert.equal((await fetch(`${base}/_ping`)).status, 200);
  });

  it('refuses everything else with 403, and the Docker daemon never sees it', async (t) => {
    if (!requireDocker(t)) return;
    const create = await fetch(`${base}/containers/create?name=wp-proxy-should-not-exist`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Image: TEST_IMAGE, Cmd: ['true'], HostConfig: { Privileged: true } }),
    });
    assert.equal(create.status, 403);
    assert.match(await create.text(), /not allowed/);
    const docker = new DockerSource('unix:///var/run/docker.sock');
    assert.equal(
      await docker.findContainer({ name: 'wp-proxy-should-not-exist' }),
      undefined,
      'nothing was created',
    );
    assert.equal((await fetch(`${base}/images/json`)).status, 403);
    assert.equal((await fetch(`${base}/containers/x/archive?path=/`)).status, 403);
  });
});
