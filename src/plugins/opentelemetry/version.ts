// The plugin's version, in its definition (main thread) and as the scope version of every request (worker).
export const PLUGIN_VERSION = '0.1.0';
