/** Static export served by the FastAPI app (src/hounsfield/webui.py). See /work/shared/FRONTEND.md. */
const nextConfig = {
  output: 'export',
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  // Lint and type checks run in `make test-web`; the build does not repeat them.
  eslint: { ignoreDuringBuilds: true },
  typescript: { ignoreBuildErrors: true },
  webpack: (config) => {
    // The image loader's codecs have a Node-only branch that must not be bundled.
    config.resolve.fallback = { ...config.resolve.fallback, fs: false, path: false };
    return config;
  },
};

// `next dev` only: proxy the API to a running `hounsfield serve` (exports have no rewrites).
if (process.env.NODE_ENV === 'development') {
  const api = process.env.HOUNSFIELD_DEV_API ?? 'http://127.0.0.1:8100';
  nextConfig.rewrites = async () => [
    { source: '/api/:path*', destination: `${api}/api/:path*` },
    { source: '/dicom-web/:path*', destination: `${api}/dicom-web/:path*` },
  ];
}

export default nextConfig;
