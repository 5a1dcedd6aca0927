package io.hotline.sdk.android

import android.annotation.SuppressLint
import android.content.Context

/**
 * The module's resources (res/values/strings.xml, res/drawable), looked up by
 * name in the app's package, where Gradle and aapt2 merge them. Looking them
 * up by name keeps the Kotlin free of a generated R class, so it compiles in
 * any build; an app may override a string or icon by defining the same name.
 */
internal object HotlineResources {
    @SuppressLint("DiscouragedApi")
    fun string(context: Context, name: String, fallback: String, vararg args: Any): String {
        val id = context.resources.getIdentifier(name, "string", context.packageName)
        val text = if (id != 0) context.getString(id) else fallback
        return if (args.isEmpty()) text else String.format(text, *args)
    }

    @SuppressLint("DiscouragedApi")
    fun drawable(context: Context, name: String, fallback: Int): Int {
        val id = context.resources.getIdentifier(name, "drawable", context.packageName)
        return if (id != 0) id else fallback
    }

    fun callIcon(context: Context) = drawable(context, "hotline_ic_call", android.R.drawable.sym_call_incoming)
    fun hangupIcon(context: Context) = drawable(context, "hotline_ic_call_end", android.R.drawable.sym_call_missed)
}
