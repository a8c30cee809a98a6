import Bowser from 'bowser';

/** What a person recognises a device by. */
export interface DeviceLabel {
  browser: string;
  os: string;
  /** `desktop`, `mobile`, `tablet`, `tv` or `unknown`. */
  platform: string;
}

/** Names the browser and OS behind a user agent; anything unparsable reads as "Unknown". */
export function describeDevice(userAgent: string | null): DeviceLabel {
  if (!userAgent) return { browser: 'Unknown browser', os: 'Unknown system', platform: 'unknown' };
  try {
    const { browser, os, platform } = Bowser.parse(userAgent);
    const major = browser.version?.split('.')[0];
    return {
      browser: browser.name ? `${browser.name}${major ? ` ${major}` : ''}` : 'Unknown browser',
      os: os.name ? `${os.name}${os.versionName ? ` ${os.versionName}` : ''}` : 'Unknown system',
      platform: platform.type ?? 'unknown',
    };
  } catch {
    return { browser: 'Unknown browser', os: 'Unknown system', platform: 'unknown' };
  }
}
