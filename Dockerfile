# syntax=docker/dockerfile:1
# Multi-stage build of the service (default target) and the OpenAPI mock server (--target mock).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
COPY sql/ sql/
COPY config/ config/
RUN dotnet publish src/Silo/Silo.csproj -c Release -o /out/silo \
 && dotnet publish src/MockServer/MockServer.csproj -c Release -o /out/mock

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS mock
WORKDIR /app
COPY --from=build /out/mock ./
COPY config/openapi.yaml ./openapi.yaml
ENV PORT=8081 OPENAPI_PATH=/app/openapi.yaml
EXPOSE 8081
USER $APP_UID
ENTRYPOINT ["dotnet", "HpcJobs.MockServer.dll"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS service
WORKDIR /app
COPY --from=build /out/silo ./
# The SQLite default writes ./hpc-jobs.db; give the non-root user a place for it.
RUN mkdir -p /data && chown "$APP_UID" /data
ENV PORT=8080 DATABASE_URL=/data/hpc-jobs.db
EXPOSE 8080 11111 30000
USER $APP_UID
# Liveness: the process answers HTTP. It never touches storage, so a database outage marks no
# container unhealthy (whatever restarts unhealthy containers would only add restarts to the
# outage). docker-compose.yml asks readiness instead (--health-check ready), for depends_on.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["dotnet", "HpcJobs.Silo.dll", "--health-check", "live"]
ENTRYPOINT ["dotnet", "HpcJobs.Silo.dll"]
