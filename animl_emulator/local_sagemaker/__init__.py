"""A local SageMaker behind the emulator's InvokeEndpoint: each endpoint runs its own container.

`python -m animl_emulator.server` installs it when ANIML_LOCAL_SAGEMAKER is set (see `settings`).
An InvokeEndpoint then follows endpoint -> config -> model -> image and ModelDataUrl, extracts the
artifact from the emulator's S3 as SageMaker does, starts the image on the first call (a cold
start) with the variant's MemorySizeInMB as its memory limit, refuses calls over MaxConcurrency,
answers container errors as ModelError, publishes the AWS/SageMaker metrics and evaluates the
alarms that watch them, and stops an idle container.

Where it differs from SageMaker (the README lists these): one container per endpoint serves every
call in flight (serverless starts one per concurrent call); AWS checks /ping when it creates the
endpoint, the emulator at the first call.
"""
