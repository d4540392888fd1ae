/** @type {import('next').NextConfig} */
const nextConfig = {
  // a fixed build id: two builds of the same source serve the same HTML
  generateBuildId: async () => "lab-build",
  poweredByHeader: false,
};

export default nextConfig;
