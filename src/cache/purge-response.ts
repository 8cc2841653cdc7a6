// Purge answers in the shape of ngx_cache_purge: the maintained fork's cache_purge_response_type (html, json, xml,
// text) carrying Key and Path as FRiCKLE's page does, plus Count, the number of entries removed; and the status policy.
// Not the purge handler: access control, key building and the error page for a miss belong to the pipeline.

import type { Invalidation } from './invalidator.ts';

export const PURGE_RESPONSE_TYPES = ['html', 'json', 'xml', 'text'] as const;

export type PurgeResponseType = (typeof PURGE_RESPONSE_TYPES)[number];

export interface PurgeReport {
  readonly key: string;
  /** The entry file (exact purges) or the zone directory (the others). */
  readonly path: string;
  readonly count: number;
}

export interface PurgeResponse {
  readonly status: 200;
  readonly contentType: string;
  readonly body: string;
}

export interface PurgeStatusOptions {
  /** The fork's cache_purge_legacy_status: answer a miss with 412 Precondition Failed instead of 404. */
  readonly legacyStatus?: boolean;
}

const CONTENT_TYPES: Record<PurgeResponseType, string> = {
  html: 'text/html',
  json: 'application/json',
  xml: 'text/xml',
  text: 'text/plain',
};

export function isPurgeResponseType(value: string): value is PurgeResponseType {
  return (PURGE_RESPONSE_TYPES as readonly string[]).includes(value);
}

/** The 200 answer; html is the default format. */
export function purgeResponse(type: PurgeResponseType, report: PurgeReport, serverName = 'portico'): PurgeResponse {
  return { status: 200, contentType: CONTENT_TYPES[type], body: renderBody(type, report, serverName) };
}

/**
 * 200 when an exact purge removed something, else 404 (FRiCKLE's answer) or 412 with legacyStatus.
 * Wildcard, purge-all and tag purges answer 200 even when nothing matched, as the fork's tree walks do.
 */
export function purgeStatus(kind: Invalidation['kind'], count: number, options: PurgeStatusOptions = {}): 200 | 404 | 412 {
  if (kind !== 'exact' || count > 0) return 200;
  return options.legacyStatus ? 412 : 404;
}

function renderBody(type: PurgeResponseType, r: PurgeReport, serverName: string): string {
  switch (type) {
    case 'json':
      return `{"Key": ${JSON.stringify(r.key)}, "Path": ${JSON.stringify(r.path)}, "Count": ${r.count}}`;
    case 'xml':
      return (
        '<?xml version="1.0" encoding="UTF-8"?>' +
        `<status><Key>${cdata(r.key)}</Key><Path>${cdata(r.path)}</Path><Count>${r.count}</Count></status>`
      );
    case 'text':
      return `Key:${r.key}\nPath:${r.path}\nCount:${r.count}\n`;
    case 'html':
      return [
        '<html>',
        '<head><title>Successful purge</title></head>',
        '<body bgcolor="white">',
        '<center><h1>Successful purge</h1>',
        `<br>Key : ${escapeHtml(r.key)}`,
        `<br>Path: ${escapeHtml(r.path)}`,
        `<br>Count: ${r.count}`,
        '</center>',
        `<hr><center>${escapeHtml(serverName)}</center>`,
        '</body>',
        '</html>',
        '',
      ].join('\r\n');
  }
}

function cdata(s: string): string {
  return `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
